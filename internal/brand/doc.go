// Package brand owns a deployment's branding: its name, logo, primary and
// accent colours and support contact, how they are checked (colours held
// to WCAG AA contrast against the backgrounds the portal's stylesheet puts
// them on, logos to a few image types and a size cap) and the files the
// portal serves from them (a stylesheet of CSS custom properties and the
// logo, each under a content-hashed name).
//
// It holds no storage and no HTTP routes: internal/config checks the
// configured brand with it, cmd/portico's `brand set` checks what it
// stores, internal/store keeps the stored setting and internal/web serves
// the result.
package brand
