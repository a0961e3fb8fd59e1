package brand

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Color is an sRGB colour.
type Color struct{ R, G, B uint8 }

// ParseColor reads "#rgb" or "#rrggbb" (any case).
func ParseColor(s string) (Color, error) {
	h, ok := strings.CutPrefix(strings.TrimSpace(s), "#")
	if ok && len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if !ok || len(h) != 6 {
		return Color{}, fmt.Errorf("%q is not a colour such as #1d4ed8", s)
	}
	n, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return Color{}, fmt.Errorf("%q is not a colour such as #1d4ed8", s)
	}
	return Color{uint8(n >> 16), uint8(n >> 8), uint8(n)}, nil
}

// String is the colour as #rrggbb.
func (c Color) String() string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// Luminance is the colour's relative luminance (WCAG 2.2, "relative
// luminance"): 0 for black, 1 for white.
func (c Color) Luminance() float64 {
	lin := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(c.R) + 0.7152*lin(c.G) + 0.0722*lin(c.B)
}

// Contrast is the contrast ratio of two colours (WCAG 2.2, "contrast
// ratio"), from 1 to 21, the same either way round.
func Contrast(a, b Color) float64 {
	la, lb := a.Luminance(), b.Luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// AA is the contrast WCAG 2.2 AA asks of normal text (1.4.3).
const AA = 4.5

// ratio writes a contrast for a person, rounded down so that a pair that
// fails never reads as passing ("4.4:1" for 4.49).
func ratio(r float64) string {
	return strconv.FormatFloat(math.Floor(r*10)/10, 'f', 1, 64) + ":1"
}

// The backgrounds the portal's stylesheet (internal/web/static/portal.css)
// sets text in the brand's colours on: the page, and the grey of the
// status boxes (--surface).
var (
	White   = Color{0xff, 0xff, 0xff}
	Surface = Color{0xf3, 0xf4, 0xf6}
)

// pair is one place the stylesheet puts a brand colour's text.
type pair struct {
	on   Color
	name string // of the background
}

// uses are the pairs checked per colour key. Contrast is symmetric, so
// "primary on white" also covers the white text on primary buttons and
// the header.
var uses = map[string][]pair{
	// Links and the outlined buttons' text on the page; the header's and
	// the primary buttons' white text on it.
	"primary": {{White, "white"}},
	// A change on its way (.pending): in the hub's lists on the page, and
	// in a case's status box.
	"accent": {{White, "white"}, {Surface, "the status box grey " + Surface.String()}},
}

// CheckContrast checks the colour of key ("primary" or "accent") against
// every background the stylesheet sets it on, and names the first pair
// under WCAG AA with its ratio: "primary #7fbfff on white: contrast
// 1.9:1, WCAG AA needs 4.5:1".
func CheckContrast(key string, c Color) error {
	for _, p := range uses[key] {
		if r := Contrast(c, p.on); r < AA {
			return fmt.Errorf("%s %s on %s: contrast %s, WCAG AA needs %s", key, c, p.name, ratio(r), ratio(AA))
		}
	}
	return nil
}
