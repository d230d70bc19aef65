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
}

func TestReceiptIsAPDF(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	pdf, err := document.RenderReceipt(document.Receipt{
		Org:    document.Party{Name: "Ville de Démo", Address: []string{"1 place de la Mairie"}},
		Family: document.Party{Name: "Famille Martin", Address: []string{"12 rue des Écoles", "99999 Démo"}},
		PaidAt: time.Now(), Location: paris, AmountCents: 450, Numauto: "123456", Refdet: "ENF0001",
		Lines:      []document.ReceiptLine{{Day: time.Now(), Child: "Léa Martin", Service: "Restauration scolaire", PriceCents: 450}},
		LinesCents: 450,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf, []byte("%%EOF")) {
		t.Fatalf("not a PDF: %q…", pdf[:min(20, len(pdf))])
	}
}
