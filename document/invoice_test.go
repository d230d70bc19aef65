package document_test

import (
	"bytes"
	"compress/zlib"
	"io"
	"regexp"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/enfance/enfance/document"
)

// pdfText inflates the PDF's content streams and decodes them from cp1252, the
// core fonts' encoding, so that a test can look for the printed words.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	var out bytes.Buffer
	for _, m := range regexp.MustCompile(`(?s)stream\r?\n(.*?)endstream`).FindAllSubmatch(pdf, -1) {
		r, err := zlib.NewReader(bytes.NewReader(m[1]))
		if err != nil {
			continue // not deflated (fonts, images)
		}
		b, _ := io.ReadAll(r)
		out.Write(b)
	}
	s, err := charmap.Windows1252.NewDecoder().String(out.String())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestInvoicePDFPrintsTheLinesAndTotalsInFrench(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	day := func(d int) *time.Time { t := time.Date(2026, 12, d, 0, 0, 0, 0, time.UTC); return &t }
	pdf, err := document.RenderInvoice(document.Invoice{
		Org:      document.Party{Name: "Ville de Démo", Address: []string{"1 place de la Mairie"}},
		Family:   document.Party{Name: "Famille Martin", Address: []string{"12 rue des Écoles", "99999 Démo"}},
		Number:   "FAC-2027-000042",
		FirstDay: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		LastDay:  time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC),
		IssuedAt: time.Date(2027, 1, 3, 5, 0, 0, 0, time.UTC),
		Location: paris,
		Lines: []document.InvoiceLine{
			{Kind: "reservation", Day: day(3), Child: "Léa Martin", Service: "Restauration scolaire", UnitCents: 123456, AmountCents: 123456},
			{Kind: "staff_reservation", Day: day(4), Child: "Hugo Martin", Service: "Garderie du soir", UnitCents: 250, AmountCents: 250},
			{Kind: "cancellation_credit", Day: day(10), Child: "Léa Martin", Service: "Restauration scolaire", CreditCents: 450},
			{Kind: "payment", Day: day(2), Label: "Paiement en ligne PayFiP ENF0001", AmountCents: -123456},
			{Kind: "credit_used", Day: day(2), Label: "Cagnotte utilisée", AmountCents: -200, CreditCents: -200},
			{Kind: "adjustment", Day: day(20), Label: "Régularisation", AmountCents: 50, Late: true},
			{Kind: "info", Day: day(1), Child: "Léa Martin", Service: "Restauration scolaire", UnitCents: 450, Label: "facturé le 28/11/2026"},
		},
		Totals: document.InvoiceTotals{Opening: 0, Charges: 123706, Paid: 123456, CreditUsed: 200, Adjustments: 50, Closing: 100, Due: 100,
			OpeningCredit: 200, CreditEarned: 450, CreditSpent: 200, ClosingCredit: 450},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: %.20q", pdf)
	}
	text := pdfText(t, pdf)
	for _, want := range []string{
		"Facture n° FAC-2027-000042", "Ville de Démo", "12 rue des Écoles",
		"du 1er décembre 2026 au 31 décembre 2026", "Émise le 3 janvier 2027",
		"1\u00a0234,56\u00a0€", "Léa Martin", "Garderie du soir \\(accueil\\)", "03/12/2026",
		"Annulations", "+4,50\u00a0€", "Paiements reçus", "Régularisations", "enregistré après la facture",
		"facturé le 28/11/2026", "Reste à payer", "1,00\u00a0€", "Cagnotte au 1er janvier 2027",
	} {
		if !bytes.Contains([]byte(text), []byte(want)) {
			t.Errorf("the invoice does not print %q", want)
		}
	}
}
