// Package i18n holds what the portal's translated outputs share: the
// languages the portal speaks, matching a user's setting to one of them,
// and loading a package's message catalogs (locales/<lang>.json, flat
// objects of message keys) into golang.org/x/text's catalog. Each output
// (pages, documents, notices) keeps its own catalog beside its templates;
// this package owns no messages and renders nothing.
package i18n

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"

	"golang.org/x/text/language"
	"golang.org/x/text/message/catalog"
)

// Languages are the portal's languages, English first (the fallback).
var Languages = []language.Tag{language.English, language.German}

// Match is the portal language named by s ("de", "de-DE"), English for
// anything else ("" included).
func Match(s string) language.Tag {
	tag, err := language.Parse(s)
	if err != nil {
		return language.English
	}
	base, _ := tag.Base()
	for _, t := range Languages {
		if b, _ := t.Base(); b == base {
			return t
		}
	}
	return language.English
}

// Catalog is a package's messages in every language: as a catalog for
// message.Printer, and as written, for messages that are templates.
type Catalog struct {
	*catalog.Builder
	Messages map[language.Tag]map[string]string
}

// Load reads dir/<lang>.json of every language from fsys. An error names
// the file and, for a bad message, its key.
func Load(fsys fs.FS, dir string) (*Catalog, error) {
	c := &Catalog{Builder: catalog.NewBuilder(catalog.Fallback(language.English)), Messages: map[language.Tag]map[string]string{}}
	for _, tag := range Languages {
		name := path.Join(dir, tag.String()+".json")
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("i18n: %w", err)
		}
		var msgs map[string]string
		if err := json.Unmarshal(b, &msgs); err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", name, err)
		}
		for k, v := range msgs {
			if err := c.SetString(tag, k, v); err != nil {
				return nil, fmt.Errorf("i18n: %s: key %q: %w", name, k, err)
			}
		}
		c.Messages[tag] = msgs
	}
	return c, nil
}
