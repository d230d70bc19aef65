package document_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/enfance/enfance/document"
)

// The day's list prints every child with what the canteen needs, a box to tick
// until attendance is recorded, and runs over as many pages as it takes.
func TestDayListPDF(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	capacity := int32(120)
	children := []document.DayListChild{
		{Name: "MARTIN Léa", Class: "CE1 – École Jules Ferry", Allergies: "arachide, fruits à coque", Notes: "PAI : trousse dans le sac",
			Family: "Famille Martin – 06 12 34 56 78", MayCollect: []string{"Josette Martin (grand-mère) 06 11 22 33 44"}},
		{Name: "DURAND Noah", Class: "GS", Family: "Famille Durand", Status: "present", Unbooked: "oubli de réservation"},
		{Name: "DURAND Emma", Class: "CE2", Family: "Famille Durand", Status: "absent"},
	}
	for i := 0; i < 60; i++ {
		children = append(children, document.DayListChild{Name: fmt.Sprintf("ENFANT %02d", i), Class: "CP", Family: "Famille X"})
	}
	pdf, err := document.RenderDayList(document.DayList{Org: "Ville de Démo", Service: "Restauration scolaire", Day: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC),
		Capacity: &capacity, Children: children, PrintedAt: time.Date(2026, 12, 3, 7, 15, 0, 0, time.UTC), Location: paris})
	if err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, pdf)
	for _, want := range []string{
		"Restauration scolaire – jeudi 3 décembre 2026", "63 enfants \\(capacité 120\\) – 1 avec allergie signalée",
		"MARTIN Léa", "Allergies : arachide, fruits à coque", "PAI : trousse dans le sac", "Josette Martin \\(grand-mère\\)",
		"\\(sans réservation :", "oubli de", "Abs.", "imprimée le 3 décembre 2026 à 08h15", "page 2", "ENFANT 59",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the day's list does not print %q", want)
		}
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatal("not a PDF")
	}
}

func TestInvoicePDFPrintsAttendance(t *testing.T) {
	day := func(d int) *time.Time { t := time.Date(2026, 12, d, 0, 0, 0, 0, time.UTC); return &t }
	pdf, err := document.RenderInvoice(document.Invoice{
		Org: document.Party{Name: "Ville"}, Family: document.Party{Name: "Famille Durand"}, Number: "FAC-2027-000001",
		FirstDay: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), LastDay: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), IssuedAt: time.Now(),
		Lines: []document.InvoiceLine{
			{Kind: "unbooked_attendance", Day: day(7), Child: "Noah Durand", Service: "Garderie du soir", Label: "oubli", UnitCents: 320, AmountCents: 320},
			{Kind: "unbooked_info", Day: day(8), Child: "Noah Durand", Service: "Garderie du soir", Label: "essai – non facturé (règle du service)"},
			{Kind: "absence", Day: day(3), Child: "Emma Durand", Service: "Garderie du soir", Label: "absent, non annulé", UnitCents: 380},
		},
		Totals: document.InvoiceTotals{Charges: 320, Closing: 320, Due: 320},
	})
	if err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, pdf)
	for _, want := range []string{"Présences sans réservation \\(pointage\\)", "07/12/2026", "Noah Durand", "oubli", "3,20\u00a0€",
		"Absences sans annulation \\(pointage\\) : la réservation reste due", "Emma Durand", "3,80\u00a0€", "absent, non annulé"} {
		if !strings.Contains(text, want) {
			t.Errorf("the invoice does not print %q", want)
		}
	}
}
