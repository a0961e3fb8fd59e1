package documents

import (
	"bytes"
	"image"
	"image/draw"
	"image/png"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/webp"

	"github.com/porticohq/portico/internal/brand"
)

const logoName = "logo"

// registerLogo puts the brand's logo into the PDF; false draws the name
// as a wordmark instead. A JPEG goes in as it is. A PNG or WebP is decoded
// and written again as an 8-bit PNG (fpdf takes neither WebP nor every
// PNG: not interlaced or 16-bit ones), which Go's encoder does the same
// way every time. An SVG is not rasterised (no SVG renderer here; fpdf's
// own draws path outlines only): the name stands in for it, as for a logo
// that does not decode.
func registerLogo(p *fpdf.Fpdf, l *brand.Logo) (*fpdf.ImageInfoType, bool) {
	if l == nil {
		return nil, false
	}
	var body []byte
	typ := "PNG"
	switch l.Type {
	case "image/jpeg":
		body, typ = l.Body, "JPG"
	case "image/png", "image/webp":
		var err error
		if body, err = normalizedPNG(l); err != nil {
			return nil, false
		}
	default:
		return nil, false
	}
	info := p.RegisterImageOptionsReader(logoName, fpdf.ImageOptions{ImageType: typ}, bytes.NewReader(body))
	if p.Err() || info == nil || info.Width() <= 0 || info.Height() <= 0 {
		p.ClearError()
		return nil, false
	}
	return info, true
}

func normalizedPNG(l *brand.Logo) ([]byte, error) {
	var img image.Image
	var err error
	if l.Type == "image/webp" {
		img, err = webp.Decode(bytes.NewReader(l.Body))
	} else {
		img, err = png.Decode(bytes.NewReader(l.Body))
	}
	if err != nil {
		return nil, err
	}
	b := img.Bounds()
	nrgba := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(nrgba, nrgba.Bounds(), img, b.Min, draw.Src)
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, opaqueOrNot(nrgba)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// opaqueOrNot drops the alpha channel of an opaque image: fpdf then
// embeds it without a soft mask.
func opaqueOrNot(img *image.NRGBA) image.Image {
	if !img.Opaque() {
		return img
	}
	rgb := image.NewRGBA(img.Bounds())
	draw.Draw(rgb, rgb.Bounds(), img, image.Point{}, draw.Src)
	return rgb
}
