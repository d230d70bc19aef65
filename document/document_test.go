package document_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/enfance/enfance/document"
)

func TestFrenchFormatting(t *testing.T) {
	for cents, want := range map[int64]string{
		0: "0,00\u00a0€", 5: "0,05\u00a0€", 380: "3,80\u00a0€", 123456: "1\u00a0234,56\u00a0€",
		100000000: "1\u00a0000\u00a0000,00\u00a0€", -250: "-2,50\u00a0€",
	} {
		if got := document.Euros(cents); got != want {
			t.Errorf("Euros(%d) = %q, want %q", cents, got, want)
		}
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	d := time.Date(2026, 12, 3, 13, 2, 0, 0, time.UTC)
	if got := document.LongDate(d); got != "3 décembre 2026" {
		t.Errorf("LongDate = %q", got)
	}
	if got := document.LongDate(time.Date(2027, 5, 1, 0, 0, 0, 0, time.UTC)); got != "1er mai 2027" {
		t.Errorf("LongDate first = %q", got)
	}
	if got := document.DateTime(d, paris); got != "3 décembre 2026 à 14h02" {
		t.Errorf("DateTime = %q", got)
	}
	if got := document.WeekdayDate(d); got != "jeudi 3 décembre 2026" {
		t.Errorf("WeekdayDate = %q", got)
	}
	if got := document.DayMonth(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)); got != "mardi 1er décembre" {
		t.Errorf("DayMonth = %q", got)
	}
	for month, want := range map[time.Month]string{
		time.October: "d'octobre 2026", time.April: "d'avril 2026", time.August: "d'août 2026",
		time.December: "de décembre 2026", time.January: "de janvier 2026", time.June: "de juin 2026",
	} {
		if got := document.OfMonth(time.Date(2026, month, 1, 0, 0, 0, 0, time.UTC)); got != want {
			t.Errorf("OfMonth(%s) = %q, want %q", month, got, want)
		}
	}
}

func TestReceiptIsAPDF(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	pdf, err := document.RenderReceipt(document.Receipt{
		Title:    "Attestation de paiement",
		Org:      document.Party{Name: "Ville de Démo", Address: []string{"1 place de la Mairie"}},
		Family:   document.Party{Name: "Famille Martin", Address: []string{"12 rue des Écoles", "99999 Démo"}},
		Facts:    []string{"Paiement du " + document.DateTime(time.Now(), paris), "Paiement en ligne PayFiP – référence ENF0001 – autorisation n° 123456"},
		Lines:    []document.ReceiptLine{{Day: time.Now(), Child: "Léa Martin", Service: "Restauration scolaire", PriceCents: 450}},
		Totals:   []document.ReceiptTotal{{Label: "Réservations", Cents: 450}, {Label: "Montant payé en ligne", Cents: 450, Bold: true}},
		Location: paris,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf, []byte("%%EOF")) {
		t.Fatalf("not a PDF: %q…", pdf[:min(20, len(pdf))])
	}
}
