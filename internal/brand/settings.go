package brand

// Stored is what staff stored over config's brand: the fields set (the
// others empty) and the logo, with the URL it was fetched from ("" for an
// upload). internal/app keeps it.
type Stored struct {
	Brand
	Logo    *Logo
	LogoURL string
}

// Settings is what the served brand is made of: config's fields, whether
// config names a logo, and what is stored over them.
type Settings struct {
	Config     Brand
	ConfigLogo bool
	Stored     Stored
}

// Change is the stored brand from now on: each field as given, an empty
// one following config's brand again; Logo replaces the stored logo (nil
// keeps it), DropLogo drops it.
type Change struct {
	Brand
	Logo     *Logo
	DropLogo bool
}

// Invalid lists the fields of a change that `portico brand set` would
// refuse too; nothing was stored.
type Invalid struct{ Fields []*FieldError }

func (e *Invalid) Error() string {
	msg := "brand: invalid"
	for _, f := range e.Fields {
		msg += "; " + f.Error()
	}
	return msg
}

// Check checks c as `portico brand set` checks its flags, normalising the
// colours; nil when every field is good.
func (c *Change) Check() error {
	errs := c.Brand.Check()
	if c.Logo != nil && c.DropLogo {
		errs = append(errs, &FieldError{Field: "logo", Msg: "give a new logo or drop the stored one, not both"})
	}
	if len(errs) > 0 {
		return &Invalid{Fields: errs}
	}
	return nil
}
