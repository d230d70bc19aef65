// Package invoice holds the rules of the monthly invoice (which ledger movements a
// month's invoice itemizes, its totals, its number) and assembles the PDF from
// PostgreSQL for both the e-mail the worker sends and the download the API serves.
package invoice

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/document"
)

// Period is a calendar month in an org's time zone.
type Period struct {
	Month    string    // YYYY-MM
	Start    time.Time // midnight on the 1st, in Loc
	End      time.Time // midnight on the 1st of the next month, in Loc
	FirstDay time.Time // the 1st, as a date (UTC midnight, like reservations.day)
	LastDay  time.Time // the last day, as a date
	Loc      *time.Location
}

var monthPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// ErrBadMonth is the French message for a malformed month.
const ErrBadMonth = "mois attendu au format AAAA-MM (par exemple 2026-12)"

// ParsePeriod reads "YYYY-MM" as a month of the zone loc.
func ParsePeriod(month string, loc *time.Location) (Period, error) {
	if !monthPattern.MatchString(month) {
		return Period{}, fmt.Errorf("%s", ErrBadMonth)
	}
	t, err := time.Parse("2006-01", month)
	if err != nil || t.Year() < 2000 || t.Year() > 2200 {
		return Period{}, fmt.Errorf("%s", ErrBadMonth)
	}
	first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return Period{
		Month:    month,
		Start:    time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, loc),
		End:      time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc),
		FirstDay: first,
		LastDay:  first.AddDate(0, 1, -1),
		Loc:      loc,
	}, nil
}

// Finished says whether the month is over at now: only a finished month is invoiced.
func (p Period) Finished(now time.Time) bool { return !now.Before(p.End) }

// NotFinished is the French refusal for a month not over yet.
func (p Period) NotFinished() string {
	return fmt.Sprintf("Le mois %s n'est pas terminé : sa facturation sera possible à partir du %s.",
		document.OfMonth(p.FirstDay), document.LongDate(p.LastDay.AddDate(0, 0, 1)))
}

// Horizon bounds how far back an invoice looks for movements recorded after their
// own month was invoiced (see Build): twelve months.
func (p Period) Horizon() time.Time {
	return time.Date(p.Start.Year()-1, p.Start.Month(), 1, 0, 0, 0, 0, p.Loc)
}

// MonthOf is the YYYY-MM of an instant in loc.
func MonthOf(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01") }

// PreviousMonth is the month before the one holding t in loc: what a run on the
// 1st invoices.
func PreviousMonth(t time.Time, loc *time.Location) string {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month()-1, 1, 0, 0, 0, 0, loc).Format("2006-01")
}

// Number formats the n-th invoice of a year: FAC-2026-000001.
func Number(year int, n int32) string { return fmt.Sprintf("FAC-%d-%06d", year, n) }

// Line kinds. "info" lines move nothing: a reservation dated in the month whose
// charge is on another invoice (booked and paid in an earlier month), shown so the
// month's attendance is complete.
const (
	KindReservation        = "reservation"               // charge of a reservation booked online
	KindStaffReservation   = "staff_reservation"         // charge of a booking made by staff
	KindCharge             = string(db.LedgerKindCharge) // any other charge
	KindCancellation       = "cancellation"              // unpaid staff booking (or presence without a reservation) reversed
	KindCancellationCredit = string(db.LedgerKindCancellationCredit)
	KindPayment            = string(db.LedgerKindPayment) // online (PayFiP)
	KindDeskPayment        = string(db.LedgerKindDeskPayment)
	KindCreditUsed         = string(db.LedgerKindCreditUsed)
	KindAdjustment         = string(db.LedgerKindAdjustment)
	KindLatePaymentCredit  = string(db.LedgerKindLatePaymentCredit)
	KindInfo               = "info"
	// Attendance (pointage). An unbooked attendance is a child present without a
	// reservation, charged by the service's rule; "unbooked_info" lists one whose
	// charge is not on this invoice (the rule charges nothing, or another invoice
	// has it). An absence is a reserved child ticked absent without a
	// cancellation: the reservation stays charged and the line moves nothing.
	KindUnbooked     = "unbooked_attendance"
	KindUnbookedInfo = "unbooked_info"
	KindAbsence      = "absence"
)

var kindOrder = map[string]int{
	KindReservation: 0, KindStaffReservation: 1, KindUnbooked: 2, KindCharge: 3, KindCancellation: 4, KindCancellationCredit: 5,
	KindPayment: 6, KindDeskPayment: 7, KindCreditUsed: 8, KindLatePaymentCredit: 9, KindAdjustment: 10, KindUnbookedInfo: 11,
	KindAbsence: 12, KindInfo: 13,
}

// Line is one invoice line.
type Line struct {
	Kind          string
	Label         string
	Day           *time.Time
	UnitCents     int64
	AmountCents   int64 // effect on the outstanding balance
	CreditCents   int64 // effect on the cagnotte
	LedgerEntryID *int64
	Child         string
	Service       string
	OccurredAt    *time.Time
	Late          bool
	AttendanceID  *uuid.UUID // the attendance the line is about, if any
}

// Totals are an invoice's figures (see the CHECKs on invoices).
type Totals struct {
	Opening, Charges, Cancelled, Paid, CreditUsed, Adjustments, Closing, Due int64
	OpeningCredit, CreditEarned, CreditSpent, ClosingCredit                  int64
}

// Input is what Build reads, all from one family.
type Input struct {
	Period Period
	// Entries from Period.Horizon() to Period.End, oldest first, each with whether
	// an invoice already itemizes it.
	Entries []db.ListInvoiceableEntriesRow
	// Balances of the entries before the horizon.
	BeforeHorizon db.FamilyBalancesBeforeRow
	// Confirmed reservations dated in the month.
	Reservations []db.ListMonthReservationDetailsRow
	// Months whose invoicing is over for this family (db.ClosedInvoiceMonths).
	ClosedMonths map[string]bool
	// Attendances dated in the month: absences without a cancellation and
	// presences without a reservation (db.ListMonthAttendances).
	Attendances []db.ListMonthAttendancesRow
}

// Statement is an invoice before it has a number.
type Statement struct {
	Lines  []Line
	Totals Totals
}

// Build decides what a family's invoice for the month holds. ok is false when
// there is nothing to invoice: no movement and no reservation in the month.
//
// Which ledger entries belong to month M (window [Start, End) of the org's zone,
// by occurred_at — when the money moved, not when the row was written):
//   - every entry with occurred_at in the window that no invoice itemizes yet;
//   - "late" entries: occurred_at before the window, never itemized, and dated in a
//     month whose invoicing is over for this family (its invoice for that month
//     exists, or the org's run for that month completed) — a PayFiP payment
//     confirmed after the run, say. They go on the first invoice after they are
//     written instead of being lost, marked as late. Entries dated in a month whose
//     run has not finished are left to that run, so two runs of different months
//     never take each other's entries; invoice_lines.ledger_entry_id is UNIQUE
//     besides. The look-back stops at Horizon (twelve months).
//
// Closing balances are the sums of every entry before End (exactly the ledger's
// balance at midnight on the 1st of the next month); opening balances are the
// closing ones minus this invoice's lines, so the two add up whatever was itemized
// where. Without late entries the opening balance is the ledger's balance at
// Start.
func Build(in Input) (Statement, bool) {
	p := in.Period
	var st Statement
	t := &st.Totals
	t.Closing, t.ClosingCredit = in.BeforeHorizon.OutstandingCents, in.BeforeHorizon.CreditCents
	charged := map[uuid.UUID]bool{} // reservations and attendances whose charge is on this invoice
	chargedAt := map[uuid.UUID]time.Time{}
	for _, e := range in.Entries {
		t.Closing += e.OutstandingCents
		t.ClosingCredit += e.CreditCents
		if e.Kind == db.LedgerKindCharge && e.ReservationID != nil {
			chargedAt[*e.ReservationID] = e.OccurredAt
		}
		late := e.OccurredAt.Before(p.Start)
		if e.Itemized || (late && !in.ClosedMonths[MonthOf(e.OccurredAt, p.Loc)]) {
			continue
		}
		l := lineOf(e, p.Loc)
		l.Late = late
		if e.Kind == db.LedgerKindCharge && e.ReservationID != nil {
			charged[*e.ReservationID] = true
		}
		if e.Kind == db.LedgerKindCharge && e.AttendanceID != nil {
			charged[*e.AttendanceID] = true
		}
		st.Lines = append(st.Lines, l)
		add(t, l)
	}
	for _, r := range in.Reservations {
		if charged[r.ID] {
			continue
		}
		label := "gratuit"
		if at, ok := chargedAt[r.ID]; ok {
			label = "facturé le " + document.ShortDate(at.In(p.Loc))
		} else if r.PriceCents > 0 {
			label = "facturé sur une autre facture"
		}
		day := r.Day
		st.Lines = append(st.Lines, Line{Kind: KindInfo, Label: label, Day: &day, UnitCents: r.PriceCents, Child: r.ChildName, Service: r.ServiceName})
	}
	for _, a := range in.Attendances {
		day, id := a.Day, a.ID
		l := Line{Day: &day, Child: a.ChildName, Service: a.ServiceName, AttendanceID: &id}
		switch {
		case a.ReservationID != nil:
			l.Kind, l.UnitCents, l.Label = KindAbsence, a.ReservationPriceCents, "absent, non annulé"
		case charged[a.ID]:
			continue // its charge is a line of this invoice already
		case a.ChargedCents == 0:
			l.Kind, l.Label = KindUnbookedInfo, unbookedLabel(a.Reason, a.Rule)+" – non facturé (règle du service)"
		default:
			l.Kind, l.UnitCents, l.Label = KindUnbookedInfo, a.ChargedCents, unbookedLabel(a.Reason, a.Rule)+" – sur une autre facture"
		}
		st.Lines = append(st.Lines, l)
	}
	if len(st.Lines) == 0 {
		return Statement{}, false
	}
	t.Opening, t.OpeningCredit = t.Closing, t.ClosingCredit
	for _, l := range st.Lines {
		t.Opening -= l.AmountCents
		t.OpeningCredit -= l.CreditCents
	}
	t.Due = max(t.Closing, 0)
	slices.SortStableFunc(st.Lines, func(a, b Line) int {
		if c := cmp.Compare(kindOrder[a.Kind], kindOrder[b.Kind]); c != 0 {
			return c
		}
		if a.Day != nil && b.Day != nil {
			if c := a.Day.Compare(*b.Day); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.Child, b.Child)
	})
	return st, true
}

func lineOf(e db.ListInvoiceableEntriesRow, loc *time.Location) Line {
	at := e.OccurredAt
	id := e.ID
	local := at.In(loc)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	l := Line{
		Kind: string(e.Kind), Label: e.Label, Day: &day, AmountCents: e.OutstandingCents, CreditCents: e.CreditCents,
		LedgerEntryID: &id, Child: e.ChildName, Service: e.ServiceName, OccurredAt: &at, AttendanceID: e.AttendanceID,
	}
	if e.ReservationDay != nil {
		rd := *e.ReservationDay
		l.Day = &rd
	}
	if e.AttendanceDay != nil {
		ad := *e.AttendanceDay
		l.Day = &ad
	}
	switch e.Kind {
	case db.LedgerKindCharge:
		switch {
		case e.AttendanceID != nil:
			l.Kind, l.Label = KindUnbooked, unbookedLabel(e.AttendanceReason, e.AttendanceRule)
		case e.ReservationID == nil:
			l.Kind = KindCharge
		case e.ReservationSource == string(db.ReservationSourceStaff):
			l.Kind = KindStaffReservation
		default:
			l.Kind = KindReservation
		}
		l.UnitCents = e.OutstandingCents
		if e.ReservationPriceCents != nil {
			l.UnitCents = *e.ReservationPriceCents
		}
	case db.LedgerKindAdjustment:
		if e.ReservationID != nil || e.AttendanceID != nil {
			l.Kind = KindCancellation
		}
	case db.LedgerKindPayment, db.LedgerKindDeskPayment, db.LedgerKindCreditUsed, db.LedgerKindCancellationCredit, db.LedgerKindLatePaymentCredit:
	default:
		l.Kind = KindAdjustment
	}
	if l.Label == "" {
		l.Label = defaultLabel[l.Kind]
	}
	return l
}

var defaultLabel = map[string]string{
	KindReservation: "Réservation", KindStaffReservation: "Réservation par l'accueil", KindCharge: "Frais",
	KindCancellation: "Annulation", KindCancellationCredit: "Annulation : crédit cagnotte",
	KindPayment: "Paiement en ligne", KindDeskPayment: "Paiement au guichet", KindCreditUsed: "Cagnotte utilisée",
	KindAdjustment: "Régularisation", KindLatePaymentCredit: "Paiement reçu après la fin du panier",
	KindUnbooked: "Présence sans réservation",
}

// unbookedLabel is how an invoice names a presence without a reservation: the
// reason staff gave, and the surcharge when the rule adds one.
func unbookedLabel(reason, rule string) string {
	if rule == "surcharge" {
		return reason + " (tarif majoré)"
	}
	return reason
}

// add files a line's movements in exactly one column of each balance.
func add(t *Totals, l Line) {
	switch l.Kind {
	case KindReservation, KindStaffReservation, KindCharge, KindUnbooked:
		t.Charges += l.AmountCents
	case KindCancellation:
		t.Cancelled -= l.AmountCents
	case KindPayment, KindDeskPayment:
		t.Paid -= l.AmountCents
	case KindCreditUsed:
		t.CreditUsed -= l.AmountCents
	default:
		t.Adjustments += l.AmountCents
	}
	if l.CreditCents > 0 {
		t.CreditEarned += l.CreditCents
	} else {
		t.CreditSpent -= l.CreditCents
	}
}
