package api_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/invoice"
)

type dayChildDoc struct {
	ReservationID *uuid.UUID `json:"reservation_id"`
	ChildID       uuid.UUID  `json:"child_id"`
	FirstName     string     `json:"first_name"`
	Allergies     string     `json:"allergies"`
	Notes         string     `json:"notes"`
	MayCollect    []struct {
		Name, Phone string
	} `json:"may_collect"`
	Attendance   *string `json:"attendance"`
	Reason       string  `json:"reason"`
	ChargedCents int64   `json:"charged_cents"`
}

type dayListDoc struct {
	Scheduled    bool          `json:"scheduled"`
	Children     []dayChildDoc `json:"children"`
	Unbooked     []dayChildDoc `json:"unbooked"`
	Ticked       int           `json:"ticked"`
	UnbookedRule struct {
		Unbooked       string `json:"unbooked"`
		SurchargeCents int64  `json:"surcharge_cents"`
		Label          string `json:"label"`
	} `json:"unbooked_rule"`
}

type recordDoc struct {
	Changed        int        `json:"changed"`
	ChargedCents   int64      `json:"charged_cents"`
	GivenBackCents int64      `json:"given_back_cents"`
	Day            dayListDoc `json:"day"`
}

type mark = map[string]any

func (e *bookingEnv) balances(fam uuid.UUID) db.FamilyBalancesRow {
	e.t.Helper()
	b, err := e.q.FamilyBalances(e.ctx, fam)
	e.must(err)
	return b
}

func (e *bookingEnv) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	e.must(e.pool.QueryRow(e.ctx, sql, args...).Scan(&n))
	return n
}

func attendanceOf(d dayListDoc, child uuid.UUID) string {
	for _, c := range append(d.Children, d.Unbooked...) {
		if c.ChildID == child && c.Attendance != nil {
			return *c.Attendance
		}
	}
	return ""
}

// The canteen's morning: the day's list with allergies and who may collect, the
// sheet ticked (one absent, one present without a reservation charged by the
// service's rule), saved twice without charging twice, the rule changed by
// finance only, a presence taken back and its charge given back, the PDF and the
// CSV, the week's numbers, and the month's invoice and export listing both.
func TestAttendanceSheet(t *testing.T) {
	e := newBookingEnv(t, false)
	agent := e.login(e.org, "agent", nil)
	finance := e.login(e.org, "finance", nil)
	famA, childA, _ := e.family(e.org, 650)  // 1,50 €
	famB, childB, _ := e.family(e.org, 1400) // 3,80 €
	famC, childC, _ := e.family(e.org, 900)  // 2,90 €
	famD, childD, _ := e.family(e.org, 1400) // 3,80 €
	// The last day of last month: in the month the test invoices, and in the past.
	first, _ := time.Parse("2006-01", e.today.Format("2006-01"))
	day := first.AddDate(0, 0, -1)
	// Booked and paid a week before the day.
	weekBefore := func() time.Time { return day.AddDate(0, 0, -7).Add(12 * time.Hour) }
	e.store.Now, e.acts.Now = weekBefore, weekBefore
	e.reserve(famA, childA, day)
	e.reserve(famB, childB, day)
	e.store.Now, e.acts.Now = weekAgo, weekAgo
	sheet := urlf("/api/v1/admin/services/%s/days/%s/attendance", e.svc, ymd(day))
	list := urlf("/api/v1/admin/services/%s/days/%s/children", e.svc, ymd(day))

	// What the list prints about a child, written by staff.
	agent.expect(http.MethodPatch, urlf("/api/v1/admin/families/%s/members/%s", famA.ID, childA), map[string]any{"allergies": "arachide", "notes": "PAI à la cantine"}, http.StatusOK, nil)
	agent.expect(http.MethodPost, urlf("/api/v1/admin/families/%s/authorized-persons", famA.ID), map[string]any{"first_name": "Josette", "last_name": "Martin", "phone": "06 12 34 56 78", "relationship": "grand-mère"}, http.StatusCreated, nil)
	var d dayListDoc
	agent.expect(http.MethodGet, list, nil, http.StatusOK, &d)
	if len(d.Children) != 2 || d.Ticked != 0 || len(d.Unbooked) != 0 || !d.Scheduled || d.UnbookedRule.Unbooked != "charge" {
		t.Fatalf("day before the sheet: %+v", d)
	}
	for _, c := range d.Children {
		if c.ChildID == childA && (c.Allergies != "arachide" || c.Notes != "PAI à la cantine" || len(c.MayCollect) != 1 || c.MayCollect[0].Phone != "06 12 34 56 78") {
			t.Errorf("child A on the list: %+v", c)
		}
	}

	// A presence without a reservation needs a reason; a refused mark saves nothing.
	marks := []mark{{"child_id": childA, "present": true}, {"child_id": childB, "present": false}, {"child_id": childC, "present": true}}
	p := agent.problem(http.MethodPut, sheet, map[string]any{"marks": marks}, http.StatusConflict, "marks-refused")
	if len(p.Errors) != 1 || p.Errors[0].Field != "marks[2]" || p.Errors[0].Reason != "reason_required" {
		t.Fatalf("refusal %+v", p.Errors)
	}
	if n := e.count(`SELECT count(*) FROM attendances`); n != 0 {
		t.Fatalf("%d attendances after a refused sheet", n)
	}
	marks[2]["reason"] = "oubli de réservation"
	var rec recordDoc
	agent.expect(http.MethodPut, sheet, map[string]any{"marks": marks}, http.StatusOK, &rec)
	if rec.Changed != 3 || rec.ChargedCents != 290 || rec.Day.Ticked != 2 || len(rec.Day.Unbooked) != 1 || rec.Day.Unbooked[0].ChargedCents != 290 ||
		attendanceOf(rec.Day, childA) != "present" || attendanceOf(rec.Day, childB) != "absent" || attendanceOf(rec.Day, childC) != "present" {
		t.Fatalf("sheet saved: %+v", rec)
	}
	if b := e.balances(famC.ID); b.OutstandingCents != 290 {
		t.Fatalf("family C owes %d, want 290", b.OutstandingCents)
	}
	// The absent child stays charged: nothing moved for family B.
	beforeB := e.balances(famB.ID)
	// Saved again, the same sheet charges nothing more.
	agent.expect(http.MethodPut, sheet, map[string]any{"marks": marks}, http.StatusOK, &rec)
	if rec.Changed != 0 || rec.ChargedCents != 0 {
		t.Fatalf("second save: %+v", rec)
	}
	if n := e.count(`SELECT count(*) FROM ledger_entries WHERE family_id = $1 AND idempotency_key LIKE 'attendance:%'`, famC.ID); n != 1 {
		t.Fatalf("%d attendance charges, want 1", n)
	}
	if b := e.balances(famB.ID); b != beforeB {
		t.Fatalf("family B's balances moved: %+v → %+v", beforeB, b)
	}

	// The rule is finance's: an agent cannot change it.
	rule := urlf("/api/v1/admin/services/%s/attendance-rule", e.svc)
	agent.problem(http.MethodPut, rule, map[string]any{"unbooked": "free", "surcharge_cents": 0}, http.StatusForbidden, "forbidden")
	finance.problem(http.MethodPut, rule, map[string]any{"unbooked": "surcharge", "surcharge_cents": 0}, http.StatusBadRequest, "invalid-request")
	finance.expect(http.MethodPut, rule, map[string]any{"unbooked": "surcharge", "surcharge_cents": 100}, http.StatusOK, nil)
	agent.expect(http.MethodPut, sheet, map[string]any{"marks": []mark{{"child_id": childD, "present": true, "reason": "venu avec son frère"}}}, http.StatusOK, &rec)
	if rec.ChargedCents != 480 {
		t.Fatalf("with a 1,00 € surcharge: charged %d, want 480", rec.ChargedCents)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action = 'service.attendance_rule' AND after->>'unbooked' = 'surcharge' AND actor_id = $1`, finance.userID); n != 1 {
		t.Errorf("rule change audited %d times", n)
	}

	// Taken back (ticked by mistake): the unpaid charge is reversed.
	agent.expect(http.MethodPut, sheet, map[string]any{"marks": []mark{{"child_id": childC, "present": false}}}, http.StatusOK, &rec)
	if rec.GivenBackCents != 290 || len(rec.Day.Unbooked) != 1 {
		t.Fatalf("taken back: %+v", rec)
	}
	if b := e.balances(famC.ID); b.OutstandingCents != 0 || b.CreditCents != 0 {
		t.Fatalf("family C after the presence was taken back: %+v", b)
	}
	// Every change is audited with who made it.
	if n := e.count(`SELECT count(*) FROM audit_log WHERE entity = 'attendance' AND actor_id = $1`, agent.userID); n != 5 {
		t.Errorf("%d attendance audit rows by the agent, want 5 (2 ticks, 2 presences without reservation, 1 taken back)", n)
	}

	// Not a day to come, nor a day the service does not run.
	agent.problem(http.MethodPut, urlf("/api/v1/admin/services/%s/days/%s/attendance", e.svc, ymd(e.day(1))), map[string]any{"marks": marks[:1]}, http.StatusConflict, "day-to-come")
	agent.problem(http.MethodPut, urlf("/api/v1/admin/services/%s/days/%s/attendance", e.svc, ymd(e.day(-60))), map[string]any{"marks": marks[:1]}, http.StatusConflict, "day-not-scheduled")
	agent.problem(http.MethodPut, sheet, map[string]any{"marks": []mark{{"child_id": uuid.New(), "present": true, "reason": "x"}}}, http.StatusConflict, "marks-refused")

	// The list to print, and as a spreadsheet.
	status, pdf, h := agent.do(http.MethodGet, list+".pdf", nil)
	if status != http.StatusOK || h.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("PDF: %d %s", status, h.Get("Content-Type"))
	}
	status, csv, _ := agent.do(http.MethodGet, list+".csv", nil)
	text := string(csv)
	if status != http.StatusOK || !strings.HasPrefix(text, "\ufeffnom;prenom;classe") || !strings.Contains(text, ";arachide;PAI à la cantine;") ||
		!strings.Contains(text, "Josette Martin 06 12 34 56 78") || !strings.Contains(text, ";non;present;venu avec son frère") || !strings.Contains(text, ";oui;absent;") {
		t.Fatalf("CSV: %d\n%s", status, text)
	}

	// The numbers of the day, for the kitchen.
	var counts struct {
		Services []struct {
			ServiceID uuid.UUID `json:"service_id"`
			Days      []struct {
				Date                                                   string
				Booked, BookedWithAllergies, Present, Absent, Unbooked int
			} `json:"days"`
		} `json:"services"`
	}
	agent.expect(http.MethodGet, "/api/v1/admin/day-counts?from="+ymd(day)+"&to="+ymd(day), nil, http.StatusOK, &counts)
	if len(counts.Services) != 1 || len(counts.Services[0].Days) != 1 {
		t.Fatalf("counts %+v", counts)
	}
	if c := counts.Services[0].Days[0]; c.Booked != 2 || c.Present != 2 || c.Absent != 1 || c.Unbooked != 1 {
		t.Errorf("day counts %+v, want 2 booked, 2 present (A, D), 1 absent (B), 1 without reservation (D)", c)
	}
	agent.problem(http.MethodGet, "/api/v1/admin/day-counts?from="+ymd(day)+"&to="+ymd(day.AddDate(1, 0, 0)), nil, http.StatusBadRequest, "invalid-request")

	// The month's invoices list the absence and the presence without a reservation.
	now := time.Now()
	acts := *e.acts
	acts.Now = func() time.Time { return now }
	for _, f := range []cart.Family{famB, famD} {
		if _, err := acts.InvoiceFamily(e.ctx, e.org, day.Format("2006-01"), f.ID); err != nil {
			t.Fatal(err)
		}
	}
	type line struct {
		Kind, Label, Child, Date string
		UnitCents                int64 `json:"unit_cents"`
		AmountCents              int64 `json:"amount_cents"`
	}
	var invB, invD []struct {
		Lines      []line `json:"lines"`
		TotalCents int64  `json:"total_cents"`
	}
	agent.problem(http.MethodGet, urlf("/api/v1/admin/families/%s/invoices", famB.ID), nil, http.StatusForbidden, "forbidden")
	finance.expect(http.MethodGet, urlf("/api/v1/admin/families/%s/invoices", famB.ID), nil, http.StatusOK, &invB)
	finance.expect(http.MethodGet, urlf("/api/v1/admin/families/%s/invoices", famD.ID), nil, http.StatusOK, &invD)
	has := func(lines []line, kind string, unit int64) bool {
		for _, l := range lines {
			if l.Kind == kind && l.UnitCents == unit && l.Date == ymd(day) {
				return true
			}
		}
		return false
	}
	if len(invB) != 1 || !has(invB[0].Lines, invoice.KindAbsence, 380) {
		t.Errorf("family B's invoice does not list the absence: %+v", invB)
	}
	if len(invD) != 1 || !has(invD[0].Lines, invoice.KindUnbooked, 480) || invD[0].TotalCents != 480 {
		t.Errorf("family D's invoice does not charge the presence: %+v", invD)
	}
	status, export, _ := finance.do(http.MethodGet, "/api/v1/admin/exports/"+day.Format("2006-01")+".csv", nil)
	lines := strings.Split(string(export), "\r\n")
	var absence, presence string
	for _, l := range lines {
		if strings.HasPrefix(l, "absence;") {
			absence = l
		}
		if strings.HasPrefix(l, "presence_non_reservee;") {
			presence = l
		}
	}
	if status != http.StatusOK || !strings.Contains(absence, ";3,80;") || !strings.Contains(presence, ";4,80;") ||
		!strings.Contains(presence, "venu avec son frère") || !strings.HasPrefix(absence, "absence;"+day.Format("02/01/2006")+";FAC-") {
		t.Fatalf("export %d:\n%s", status, export)
	}
}

// A concurrent second save of the same presence charges once.
func TestAttendanceSavedTwiceAtOnce(t *testing.T) {
	e := newBookingEnv(t, false)
	fam, child, _ := e.family(e.org, 900)
	sheet := urlf("/api/v1/admin/services/%s/days/%s/attendance", e.svc, ymd(e.day(-2)))
	agents := []*apiCaller{e.login(e.org, "agent", nil), e.login(e.org, "agent", nil)}
	done := make(chan int, 8)
	for i := 0; i < 8; i++ {
		go func(a *apiCaller) {
			status, _, _ := a.do(http.MethodPut, sheet, map[string]any{"marks": []mark{{"child_id": child, "present": true, "reason": "sans réservation"}}})
			done <- status
		}(agents[i%2])
	}
	for i := 0; i < 8; i++ {
		if s := <-done; s != http.StatusOK {
			t.Errorf("save %d answered %d", i, s)
		}
	}
	if b := e.balances(fam.ID); b.OutstandingCents != 290 {
		t.Fatalf("charged %d, want once 290", b.OutstandingCents)
	}
	if n := e.count(`SELECT count(*) FROM attendances WHERE child_id = $1 AND status = 'present'`, child); n != 1 {
		t.Fatalf("%d presences", n)
	}
}
