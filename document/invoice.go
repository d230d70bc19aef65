package document

import (
	"time"
)

// Invoice is a family's monthly invoice (facture): the month's movements of its
// account and the balances they lead to.
type Invoice struct {
	Org      Party
	Family   Party
	Number   string // FAC-2026-000001
	FirstDay time.Time
	LastDay  time.Time
	IssuedAt time.Time
	Location *time.Location
	Lines    []InvoiceLine
	Totals   InvoiceTotals
}

// InvoiceLine is one line; Kind says which section prints it (see the invoice
// package for the kinds).
type InvoiceLine struct {
	Kind        string
	Day         *time.Time // the reservation's date, or the day of the movement
	Label       string
	Child       string
	Service     string
	UnitCents   int64
	AmountCents int64 // effect on the outstanding balance
	CreditCents int64 // effect on the cagnotte
	Late        bool  // recorded after the invoice of its own month
}

// InvoiceTotals are the invoice's figures; Closing = Opening + Charges − Cancelled
// − Paid − CreditUsed + Adjustments, and ClosingCredit = OpeningCredit +
// CreditEarned − CreditSpent.
type InvoiceTotals struct {
	Opening, Charges, Cancelled, Paid, CreditUsed, Adjustments, Closing, Due int64
	OpeningCredit, CreditEarned, CreditSpent, ClosingCredit                  int64
}

type column struct {
	title string
	width float64
	align string
}

// table prints a section (titled unless title is ""); rows hold one string per
// column. A cell too long for its column wraps onto more lines: nothing is cut.
func (d *pdfDoc) table(title string, cols []column, rows [][]string) {
	if len(rows) == 0 {
		return
	}
	if title != "" {
		d.SetFont("Helvetica", "B", 11)
		d.text(0, 8, title, "", 1, "L")
	}
	d.SetFont("Helvetica", "B", 9)
	d.SetFillColor(235, 235, 245)
	for i, c := range cols {
		ln := 0
		if i == len(cols)-1 {
			ln = 1
		}
		d.CellFormat(c.width, 6, d.tr(c.title), "B", ln, c.align, true, 0, "")
	}
	d.SetFont("Helvetica", "", 9)
	const lineHeight = 5
	for _, r := range rows {
		cells := make([][]string, len(cols))
		n := 1
		for i, c := range cols {
			cells[i] = d.cellLines(r[i], c.width)
			n = max(n, len(cells[i]))
		}
		height := float64(n)*lineHeight + 0.5
		if _, pageHeight := d.GetPageSize(); d.GetY()+height > pageHeight-bottomMargin {
			d.AddPage()
		}
		left, y := d.GetX(), d.GetY()
		x := left
		for i, c := range cols {
			for j, line := range cells[i] {
				d.SetXY(x, y+float64(j)*lineHeight)
				d.CellFormat(c.width, lineHeight, line, "", 0, c.align, false, 0, "")
			}
			x += c.width
		}
		d.SetXY(left, y+height)
	}
	d.Ln(3)
}

// cellLines splits s, in the PDF's encoding, into the lines that fit a cell of
// width w in the current font (fpdf measures the words; it does not wrap cells
// laid side by side itself).
func (d *pdfDoc) cellLines(s string, w float64) []string {
	var out []string
	for _, l := range d.SplitLines([]byte(d.tr(s)), w) {
		out = append(out, string(l))
	}
	if len(out) == 0 {
		out = []string{""}
	}
	return out
}

func dayOf(l InvoiceLine) string {
	if l.Day == nil {
		return ""
	}
	return ShortDate(*l.Day)
}

func signed(cents int64) string {
	if cents > 0 {
		return "+" + Euros(cents)
	}
	return Euros(cents)
}

func lateNote(l InvoiceLine, s string) string {
	if l.Late {
		return s + " (enregistré après la facture de son mois)"
	}
	return s
}

// RenderInvoice draws the invoice.
func RenderInvoice(inv Invoice) ([]byte, error) {
	loc := inv.Location
	if loc == nil {
		loc = time.UTC
	}
	d := newDoc("Facture " + inv.Number)
	d.parties(inv.Org, inv.Family)

	d.SetFont("Helvetica", "B", 16)
	d.text(0, 10, "Facture n° "+inv.Number, "", 1, "L")
	d.SetFont("Helvetica", "", 10)
	d.text(0, 6, "Mois "+OfMonth(inv.FirstDay)+" – du "+LongDate(inv.FirstDay)+" au "+LongDate(inv.LastDay), "", 1, "L")
	d.text(0, 6, "Émise le "+LongDate(inv.IssuedAt.In(loc)), "", 1, "L")
	d.Ln(4)

	var bookings, cancels, money, adjust, info, unbooked, absences [][]string
	for _, l := range inv.Lines {
		switch l.Kind {
		case "unbooked_attendance":
			unbooked = append(unbooked, []string{dayOf(l), l.Child, lateNote(l, l.Service), l.Label, Euros(l.AmountCents)})
		case "unbooked_info":
			unbooked = append(unbooked, []string{dayOf(l), l.Child, l.Service, l.Label, "—"})
		case "absence":
			absences = append(absences, []string{dayOf(l), l.Child, l.Service, Euros(l.UnitCents), l.Label})
		case "reservation", "staff_reservation", "charge":
			service := l.Service
			if l.Kind == "staff_reservation" {
				service += " (accueil)"
			}
			if l.Kind == "charge" {
				service = l.Label
			}
			bookings = append(bookings, []string{dayOf(l), l.Child, lateNote(l, service), Euros(l.UnitCents), Euros(l.AmountCents)})
		case "cancellation", "cancellation_credit":
			cancels = append(cancels, []string{dayOf(l), l.Child, lateNote(l, l.Service), signed(l.AmountCents), signed(l.CreditCents)})
		case "payment", "desk_payment", "credit_used":
			money = append(money, []string{dayOf(l), lateNote(l, l.Label), signed(l.AmountCents)})
		case "info":
			info = append(info, []string{dayOf(l), l.Child, l.Service, Euros(l.UnitCents), l.Label})
		default:
			adjust = append(adjust, []string{dayOf(l), lateNote(l, l.Label), signed(l.AmountCents), signed(l.CreditCents)})
		}
	}
	d.table("Réservations", []column{
		{"Date", 22, "L"}, {"Enfant", 40, "L"}, {"Prestation", 62, "L"}, {"Prix unitaire", 25, "R"}, {"Montant", 25, "R"},
	}, bookings)
	d.table("Présences sans réservation (pointage)", []column{
		{"Date", 22, "L"}, {"Enfant", 40, "L"}, {"Prestation", 50, "L"}, {"Motif", 37, "L"}, {"Montant", 25, "R"},
	}, unbooked)
	d.table("Annulations", []column{
		{"Date", 22, "L"}, {"Enfant", 40, "L"}, {"Prestation", 62, "L"}, {"Solde", 25, "R"}, {"Cagnotte", 25, "R"},
	}, cancels)
	d.table("Paiements reçus et cagnotte utilisée", []column{
		{"Date", 22, "L"}, {"Libellé", 127, "L"}, {"Montant", 25, "R"},
	}, money)
	d.table("Régularisations", []column{
		{"Date", 22, "L"}, {"Libellé", 102, "L"}, {"Solde", 25, "R"}, {"Cagnotte", 25, "R"},
	}, adjust)
	d.table("Absences sans annulation (pointage) : la réservation reste due", []column{
		{"Date", 22, "L"}, {"Enfant", 40, "L"}, {"Prestation", 50, "L"}, {"Prix", 22, "R"}, {"", 40, "L"},
	}, absences)
	d.table("Prestations du mois facturées à un autre moment", []column{
		{"Date", 22, "L"}, {"Enfant", 40, "L"}, {"Prestation", 50, "L"}, {"Prix", 22, "R"}, {"", 40, "L"},
	}, info)

	t := inv.Totals
	next := inv.LastDay.AddDate(0, 0, 1)
	d.SetFont("Helvetica", "B", 11)
	d.text(0, 8, "Récapitulatif", "", 1, "L")
	row := func(label string, cents int64, bold bool) {
		style := ""
		if bold {
			style = "B"
		}
		d.SetFont("Helvetica", style, 10)
		d.text(144, 6, label, "", 0, "R")
		d.text(30, 6, Euros(cents), "", 1, "R")
	}
	row("Solde antérieur au "+LongDate(inv.FirstDay), t.Opening, false)
	row("Réservations du mois", t.Charges, false)
	if t.Cancelled != 0 {
		row("Annulations déduites du solde", -t.Cancelled, false)
	}
	row("Paiements reçus", -t.Paid, false)
	if t.CreditUsed != 0 {
		row("Cagnotte utilisée", -t.CreditUsed, false)
	}
	if t.Adjustments != 0 {
		row("Régularisations", t.Adjustments, false)
	}
	row("Solde au "+LongDate(inv.LastDay)+" au soir", t.Closing, false)
	row("Reste à payer", t.Due, true)
	d.Ln(2)
	if t.OpeningCredit != 0 || t.CreditEarned != 0 || t.CreditSpent != 0 || t.ClosingCredit != 0 {
		row("Cagnotte au "+LongDate(inv.FirstDay), t.OpeningCredit, false)
		row("Crédits obtenus (annulations, régularisations)", t.CreditEarned, false)
		row("Cagnotte utilisée", -t.CreditSpent, false)
		row("Cagnotte au "+LongDate(next), t.ClosingCredit, false)
	}

	d.Ln(8)
	d.SetFont("Helvetica", "I", 9)
	note := "Vos réservations sont payées au moment de la réservation : cette facture récapitule les réservations et les paiements enregistrés durant le mois."
	if t.Due > 0 {
		note += " Le reste à payer est ajouté à votre prochain panier ; vous pouvez aussi le régler seul depuis votre espace famille."
	}
	d.MultiCell(0, 5, d.tr(note), "", "L", false)
	return d.bytes()
}
