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

// ReceiptLine is one reservation paid.
type ReceiptLine struct {
	Day        time.Time
	Child      string
	Service    string
	PriceCents int64
}

// Receipt is an attestation de paiement.
type Receipt struct {
	Org              Party
	Family           Party
	PaidAt           time.Time
	Location         *time.Location
	AmountCents      int64 // paid online (0 when the cagnotte covered everything)
	Numauto          string
	Refdet           string
	Lines            []ReceiptLine
	LinesCents       int64
	CreditUsedCents  int64
	OutstandingCents int64 // earlier balance settled with this payment
}

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
	f.SetAutoPageBreak(true, 18)
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

// RenderReceipt draws the attestation de paiement.
func RenderReceipt(r Receipt) ([]byte, error) {
	loc := r.Location
	if loc == nil {
		loc = time.UTC
	}
	d := newDoc("Attestation de paiement")
	d.parties(r.Org, r.Family)

	d.SetFont("Helvetica", "B", 16)
	d.text(0, 10, "Attestation de paiement", "", 1, "L")
	d.SetFont("Helvetica", "", 10)
	d.text(0, 6, "Paiement du "+DateTime(r.PaidAt, loc), "", 1, "L")
	if r.AmountCents > 0 {
		d.text(0, 6, "Paiement en ligne PayFiP – référence "+r.Refdet+" – autorisation n° "+r.Numauto, "", 1, "L")
	} else {
		d.text(0, 6, "Réglé sans paiement en ligne (cagnotte) – référence "+r.Refdet, "", 1, "L")
	}
	d.Ln(4)

	d.SetFont("Helvetica", "B", 10)
	d.SetFillColor(235, 235, 245)
	d.CellFormat(32, 7, d.tr("Date"), "B", 0, "L", true, 0, "")
	d.CellFormat(48, 7, d.tr("Enfant"), "B", 0, "L", true, 0, "")
	d.CellFormat(68, 7, d.tr("Prestation"), "B", 0, "L", true, 0, "")
	d.CellFormat(26, 7, d.tr("Montant"), "B", 1, "R", true, 0, "")
	d.SetFont("Helvetica", "", 10)
	for _, l := range r.Lines {
		d.text(32, 6, ShortDate(l.Day), "", 0, "L")
		d.text(48, 6, l.Child, "", 0, "L")
		d.text(68, 6, l.Service, "", 0, "L")
		d.text(26, 6, Euros(l.PriceCents), "", 1, "R")
	}
	d.Ln(3)
	total := func(label string, cents int64, bold bool) {
		style := ""
		if bold {
			style = "B"
		}
		d.SetFont("Helvetica", style, 10)
		d.text(148, 6, label, "", 0, "R")
		d.text(26, 6, Euros(cents), "", 1, "R")
	}
	total("Réservations", r.LinesCents, false)
	if r.OutstandingCents > 0 {
		total("Solde antérieur réglé", r.OutstandingCents, false)
	}
	if r.CreditUsedCents > 0 {
		total("Cagnotte utilisée", -r.CreditUsedCents, false)
	}
	total("Montant payé", r.AmountCents, true)

	d.Ln(10)
	d.SetFont("Helvetica", "I", 9)
	d.MultiCell(0, 5, d.tr("Ce document atteste du paiement des prestations ci-dessus. Il vaut justificatif de paiement."), "", "L", false)
	return d.bytes()
}
