package document

import (
	"bytes"
	"fmt"
	"time"

	"github.com/go-pdf/fpdf"
)

// Party is an org or a family as printed on a document.
type Party struct {
	Name    string
	Address []string
}

// ReceiptLine is one reservation the document is about.
type ReceiptLine struct {
	Day        time.Time
	Child      string
	Service    string
	PriceCents int64
}

// ReceiptTotal is one line of the figures under the reservations.
type ReceiptTotal struct {
	Label string
	Cents int64
	Bold  bool
}

// Receipt is what a settled payment gives the family: an attestation de paiement
// when money was paid (online or with the cagnotte), or a confirmation de
// réservation when nothing was paid (package receipt decides which and words it).
type Receipt struct {
	Title    string // "Attestation de paiement", "Confirmation de réservation"
	Org      Party
	Family   Party
	Facts    []string // under the title: when, how, the references
	Lines    []ReceiptLine
	Totals   []ReceiptTotal
	Note     string // what the document is worth, at the bottom
	Location *time.Location
}

// bottomMargin is where a page breaks (mm).
const bottomMargin = 18

// pdfDoc wraps fpdf with the core fonts in cp1252, which covers French (accents, €)
// without shipping a TTF file.
type pdfDoc struct {
	*fpdf.Fpdf
	tr func(string) string
}

func newDoc(title string) *pdfDoc {
	f := fpdf.New("P", "mm", "A4", "")
	f.SetTitle(title, true)
	f.SetAuthor("enfance", true)
	f.SetMargins(18, 18, 18)
	f.SetAutoPageBreak(true, bottomMargin)
	f.AddPage()
	return &pdfDoc{Fpdf: f, tr: f.UnicodeTranslatorFromDescriptor("")}
}

func (d *pdfDoc) text(w, h float64, s, border string, ln int, align string) {
	d.CellFormat(w, h, d.tr(s), border, ln, align, false, 0, "")
}

func (d *pdfDoc) parties(org, family Party) {
	d.SetFont("Helvetica", "B", 12)
	d.text(0, 6, org.Name, "", 1, "L")
	d.SetFont("Helvetica", "", 10)
	for _, l := range org.Address {
		d.text(0, 5, l, "", 1, "L")
	}
	d.Ln(6)
	d.SetX(115)
	d.SetFont("Helvetica", "B", 11)
	d.text(0, 6, family.Name, "", 1, "L")
	d.SetFont("Helvetica", "", 10)
	for _, l := range family.Address {
		d.SetX(115)
		d.text(0, 5, l, "", 1, "L")
	}
	d.Ln(8)
}

func (d *pdfDoc) bytes() ([]byte, error) {
	var buf bytes.Buffer
	if err := d.Output(&buf); err != nil {
		return nil, fmt.Errorf("render pdf: %w", err)
	}
	return buf.Bytes(), nil
}

// RenderReceipt draws the document.
func RenderReceipt(r Receipt) ([]byte, error) {
	d := newDoc(r.Title)
	d.parties(r.Org, r.Family)

	d.SetFont("Helvetica", "B", 16)
	d.text(0, 10, r.Title, "", 1, "L")
	d.SetFont("Helvetica", "", 10)
	for _, f := range r.Facts {
		d.MultiCell(0, 6, d.tr(f), "", "L", false)
	}
	d.Ln(4)

	if len(r.Lines) > 0 {
		cols := []column{{"Date", 32, "L"}, {"Enfant", 48, "L"}, {"Prestation", 68, "L"}, {"Montant", 26, "R"}}
		rows := make([][]string, 0, len(r.Lines))
		for _, l := range r.Lines {
			rows = append(rows, []string{ShortDate(l.Day), l.Child, l.Service, Euros(l.PriceCents)})
		}
		d.table("", cols, rows)
	}
	for _, t := range r.Totals {
		style := ""
		if t.Bold {
			style = "B"
		}
		d.SetFont("Helvetica", style, 10)
		d.text(148, 6, t.Label, "", 0, "R")
		d.text(26, 6, Euros(t.Cents), "", 1, "R")
	}
	if r.Note != "" {
		d.Ln(10)
		d.SetFont("Helvetica", "I", 9)
		d.MultiCell(0, 5, d.tr(r.Note), "", "L", false)
	}
	return d.bytes()
}
