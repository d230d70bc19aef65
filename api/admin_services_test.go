package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
)

type serviceDoc struct {
	ID              uuid.UUID `json:"id"`
	Code            string    `json:"code"`
	Name            string    `json:"name"`
	Weekdays        []int     `json:"weekdays"`
	BookingDeadline struct {
		DaysBefore int    `json:"days_before"`
		Time       string `json:"time"`
		Label      string `json:"label"`
	} `json:"booking_deadline"`
	CancellationDeadline struct {
		DaysBefore int    `json:"days_before"`
		Time       string `json:"time"`
	} `json:"cancellation_deadline"`
	WorkingDaysOnly bool `json:"working_days_only"`
	Eligibility     struct {
		Classes      []string `json:"classes"`
		MinAgeMonths *int     `json:"min_age_months"`
		MaxAgeMonths *int     `json:"max_age_months"`
	} `json:"eligibility"`
	Prices []struct {
		QFMin      int   `json:"qf_min"`
		QFMax      *int  `json:"qf_max"`
		PriceCents int64 `json:"price_cents"`
	} `json:"prices"`
	Active bool `json:"active"`
}

type dayDoc struct {
	Date       string `json:"date"`
	Open       bool   `json:"open"`
	Capacity   *int   `json:"capacity"`
	Taken      int    `json:"taken"`
	PlacesLeft *int   `json:"places_left"`
}

func TestAdminEditsServices(t *testing.T) {
	e := newBookingEnv(t, false)
	admin := e.login(e.org, "admin", nil)
	agent := e.login(e.org, "agent", nil)
	_, _, parent := e.family(e.org, 650)

	body := map[string]any{
		"code": "mercredi", "name": "Mercredis loisirs", "weekdays": []int{3},
		"booking_deadline":      map[string]any{"days_before": 5, "time": "12:00"},
		"cancellation_deadline": map[string]any{"days_before": 3, "time": "18:30"},
		"working_days_only":     true,
		"eligibility":           map[string]any{"classes": []string{"CP", " CE1 ", ""}, "min_age_months": 36, "max_age_months": 144},
		"prices": []map[string]any{
			{"qf_min": 701, "qf_max": nil, "price_cents": 1200},
			{"qf_min": 0, "qf_max": 700, "price_cents": 500},
		},
	}
	agent.problem(http.MethodPost, "/api/v1/admin/services", body, http.StatusForbidden, "forbidden")
	parent.problem(http.MethodGet, "/api/v1/admin/services", nil, http.StatusForbidden, "forbidden")

	var svc serviceDoc
	admin.expect(http.MethodPost, "/api/v1/admin/services", body, http.StatusCreated, &svc)
	if svc.Code != "mercredi" || len(svc.Weekdays) != 1 || svc.Weekdays[0] != 3 || !svc.WorkingDaysOnly || !svc.Active ||
		svc.BookingDeadline.DaysBefore != 5 || svc.BookingDeadline.Time != "12:00" || svc.BookingDeadline.Label != "J-5 avant 12h00 (jours ouvrés)" ||
		svc.CancellationDeadline.DaysBefore != 3 || svc.CancellationDeadline.Time != "18:30" ||
		len(svc.Eligibility.Classes) != 2 || svc.Eligibility.Classes[1] != "CE1" || *svc.Eligibility.MaxAgeMonths != 144 ||
		len(svc.Prices) != 2 || svc.Prices[0].QFMin != 0 || svc.Prices[1].PriceCents != 1200 || svc.Prices[1].QFMax != nil {
		t.Fatalf("created %+v", svc)
	}
	admin.problem(http.MethodPost, "/api/v1/admin/services", body, http.StatusConflict, "service-code-taken")

	// Invalid input names its fields.
	for _, tt := range []struct {
		name   string
		edit   map[string]any
		fields []string
	}{
		{"gap between brackets", map[string]any{"prices": []map[string]any{{"qf_min": 0, "qf_max": 700, "price_cents": 500}, {"qf_min": 800, "price_cents": 900}}}, []string{"prices[1]"}},
		{"overlap", map[string]any{"prices": []map[string]any{{"qf_min": 0, "qf_max": 700, "price_cents": 500}, {"qf_min": 700, "price_cents": 900}}}, []string{"prices[1]"}},
		{"not from 0", map[string]any{"prices": []map[string]any{{"qf_min": 1, "price_cents": 500}}}, []string{"prices[0]"}},
		{"capped top", map[string]any{"prices": []map[string]any{{"qf_min": 0, "qf_max": 700, "price_cents": 500}}}, []string{"prices[0]"}},
		{"no brackets", map[string]any{"prices": []map[string]any{}}, []string{"prices"}},
		{"deadline", map[string]any{"booking_deadline": map[string]any{"days_before": -1, "time": "25:00"}}, []string{"booking_deadline.days_before", "booking_deadline.time"}},
		{"weekday", map[string]any{"weekdays": []int{0, 8}}, []string{"weekdays"}},
		{"ages", map[string]any{"eligibility": map[string]any{"min_age_months": 100, "max_age_months": 50}}, []string{"eligibility.max_age_months"}},
		{"code", map[string]any{"code": "Cantine Midi"}, []string{"code"}},
	} {
		p := admin.problem(http.MethodPatch, urlf("/api/v1/admin/services/%s", svc.ID), tt.edit, http.StatusBadRequest, "invalid-request")
		var got []string
		for _, f := range p.Errors {
			got = append(got, f.Field)
		}
		if len(got) != len(tt.fields) {
			t.Errorf("%s: fields %v, want %v", tt.name, got, tt.fields)
			continue
		}
		for i := range got {
			if got[i] != tt.fields[i] {
				t.Errorf("%s: fields %v, want %v", tt.name, got, tt.fields)
			}
		}
	}
	p := admin.problem(http.MethodPost, "/api/v1/admin/services", map[string]any{"name": "x"}, http.StatusBadRequest, "invalid-request")
	if len(p.Errors) != 2 {
		t.Errorf("missing fields %+v", p.Errors)
	}

	// A PATCH changes only what it names.
	var patched serviceDoc
	admin.expect(http.MethodPatch, urlf("/api/v1/admin/services/%s", svc.ID), map[string]any{
		"name": "Mercredis", "prices": []map[string]any{{"qf_min": 0, "price_cents": 800}},
	}, http.StatusOK, &patched)
	if patched.Name != "Mercredis" || patched.Code != "mercredi" || patched.BookingDeadline.DaysBefore != 5 || len(patched.Prices) != 1 || patched.Prices[0].PriceCents != 800 {
		t.Errorf("patched %+v", patched)
	}
	admin.problem(http.MethodPatch, urlf("/api/v1/admin/services/%s", uuid.New()), map[string]any{"name": "x"}, http.StatusNotFound, "not-found")
	admin.problem(http.MethodPatch, urlf("/api/v1/admin/services/%s", svc.ID), map[string]any{"code": "cantine"}, http.StatusConflict, "service-code-taken")

	// Every service edit is in the audit log, with the service before and after.
	var audited int
	if err := e.pool.QueryRow(e.ctx, `SELECT count(*) FROM audit_log WHERE entity = 'service' AND entity_id = $1
		AND ((action = 'service.create' AND before IS NULL AND after->>'name' = 'Mercredis loisirs')
		  OR (action = 'service.update' AND before->>'name' = 'Mercredis loisirs' AND after->>'name' = 'Mercredis'))`, svc.ID).Scan(&audited); err != nil {
		t.Fatal(err)
	}
	if audited != 2 {
		t.Errorf("%d audit rows for the creation and the edit, want 2", audited)
	}

	// Another org's admin sees none of it.
	other := e.login(e.newOrg(), "admin", nil)
	other.problem(http.MethodGet, urlf("/api/v1/admin/services/%s", svc.ID), nil, http.StatusNotFound, "not-found")
	var theirs []serviceDoc
	other.expect(http.MethodGet, "/api/v1/admin/services", nil, http.StatusOK, &theirs)
	if len(theirs) != 0 {
		t.Errorf("another org lists %d services", len(theirs))
	}

	// Agents read services, inactive ones included.
	admin.expect(http.MethodPatch, urlf("/api/v1/admin/services/%s", svc.ID), map[string]any{"active": false}, http.StatusOK, nil)
	var all []serviceDoc
	agent.expect(http.MethodGet, "/api/v1/admin/services", nil, http.StatusOK, &all)
	if len(all) != 2 || all[1].ID != svc.ID || all[1].Active {
		t.Errorf("services %+v", all)
	}

	// Opening the service's Wednesdays over a month.
	admin.expect(http.MethodPatch, urlf("/api/v1/admin/services/%s", svc.ID), map[string]any{"active": true}, http.StatusOK, nil)
	var gen struct {
		Created int `json:"created"`
	}
	first := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	admin.expect(http.MethodPost, urlf("/api/v1/admin/services/%s/days/generate", svc.ID), map[string]any{"from": "2027-03-01", "to": "2027-03-31", "capacity": 24}, http.StatusOK, &gen)
	if gen.Created != 5 { // 3, 10, 17, 24 and 31 March 2027
		t.Errorf("created %d days, want 5", gen.Created)
	}
	var days []dayDoc
	agent.expect(http.MethodGet, urlf("/api/v1/admin/services/%s/days?month=2027-03", svc.ID), nil, http.StatusOK, &days)
	if len(days) != 5 || days[0].Date != ymd(first.AddDate(0, 0, 2)) || *days[0].Capacity != 24 || *days[0].PlacesLeft != 24 {
		t.Errorf("days %+v", days)
	}
	// Audited: who, which service, the period, the capacity, how many days opened.
	var after string
	if err := e.pool.QueryRow(e.ctx, `SELECT after::text FROM audit_log WHERE action = 'service.days_generate' AND entity = 'service' AND entity_id = $1 AND actor_id = $2`,
		svc.ID.String(), admin.userID).Scan(&after); err != nil {
		t.Fatalf("no audit of the days generated: %v", err)
	}
	var got map[string]any
	decode(t, []byte(after), &got)
	if got["name"] != "Mercredis" || got["first_day"] != "2027-03-01" || got["last_day"] != "2027-03-31" || got["capacity"] != 24.0 || got["created"] != 5.0 {
		t.Errorf("audit of the generation: %s", after)
	}
	// A refused period writes nothing.
	admin.problem(http.MethodPost, urlf("/api/v1/admin/services/%s/days/generate", svc.ID), map[string]any{"from": "2027-03-31", "to": "2027-03-01"}, http.StatusBadRequest, "invalid-request")
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action = 'service.days_generate'`); n != 1 {
		t.Errorf("%d audits of generations, want 1", n)
	}
}

func TestStaffEditDays(t *testing.T) {
	e := newBookingEnv(t, false)
	agent := e.login(e.org, "agent", nil)
	fam, child, _ := e.family(e.org, 650)
	fam2, child2, _ := e.family(e.org, 650)
	d := e.day(6)
	e.reserve(fam, child, d)
	e.reserve(fam2, child2, d)
	put := urlf("/api/v1/admin/services/%s/days", e.svc)

	// Below what is taken: refused, nothing changed, the day named.
	p := agent.problem(http.MethodPut, put, map[string]any{"days": []map[string]any{
		{"date": ymd(e.day(7)), "capacity": 10},
		{"date": ymd(d), "capacity": 1},
	}}, http.StatusConflict, "capacity-below-taken")
	if len(p.Errors) != 1 || p.Errors[0].Field != "days[1].capacity" || p.Errors[0].Reason != "below_taken" {
		t.Errorf("errors %+v", p.Errors)
	}
	var days []dayDoc
	agent.expect(http.MethodGet, urlf("/api/v1/admin/services/%s/days?month=%s", e.svc, e.day(7).Format("2006-01")), nil, http.StatusOK, &days)
	for _, dd := range days {
		if dd.Date == ymd(e.day(7)) && dd.Capacity != nil {
			t.Errorf("a refused request changed %s", dd.Date)
		}
	}

	// Exactly what is taken is fine; so is closing a day, and opening a new one.
	var out []dayDoc
	newDay := e.day(90) // beyond the days opened so far
	agent.expect(http.MethodPut, put, map[string]any{"days": []map[string]any{
		{"date": ymd(d), "capacity": 2},
		{"date": ymd(e.day(8)), "open": false},
		{"date": ymd(newDay), "capacity": 12},
	}}, http.StatusOK, &out)
	if len(out) != 3 || out[0].Date != ymd(d) || *out[0].Capacity != 2 || out[0].Taken != 2 || *out[0].PlacesLeft != 0 ||
		out[1].Open || out[2].Date != ymd(newDay) || *out[2].Capacity != 12 || !out[2].Open {
		t.Errorf("days %+v", out)
	}
	// The closed day and the full day can no longer be booked.
	_, child3, parent3 := e.family(e.org, 650)
	p = parent3.problem(http.MethodPost, "/api/v1/cart/items", map[string]any{"items": []map[string]any{
		{"child_id": child3, "service_id": e.svc, "date": ymd(d)},
		{"child_id": child3, "service_id": e.svc, "date": ymd(e.day(8))},
	}}, http.StatusConflict, "items-refused")
	if len(p.Errors) != 2 || p.Errors[0].Reason != "full" || p.Errors[1].Reason != "closed" {
		t.Errorf("errors %+v", p.Errors)
	}

	for _, bad := range []map[string]any{
		{"days": []map[string]any{}},
		{"days": []map[string]any{{"date": "demain"}}},
		{"days": []map[string]any{{"date": ymd(d), "capacity": -1}}},
		{"days": []map[string]any{{"date": ymd(d)}, {"date": ymd(d)}}},
	} {
		agent.problem(http.MethodPut, put, bad, http.StatusBadRequest, "invalid-request")
	}
	agent.problem(http.MethodPut, urlf("/api/v1/admin/services/%s/days", uuid.New()), map[string]any{"days": []map[string]any{{"date": ymd(d)}}}, http.StatusNotFound, "not-found")
}

type cartItemDoc struct {
	ID   uuid.UUID `json:"id"`
	Date string    `json:"date"`
}

func TestMonthToggleOverHTTP(t *testing.T) {
	e := newBookingEnv(t, true)
	_, child, parent := e.family(e.org, 650)
	_, otherChild, _ := e.family(e.org, 650)
	next := time.Date(e.today.Year(), e.today.Month()+1, 1, 0, 0, 0, 0, time.UTC)
	month := next.Format("2006-01")
	// The service runs every day; the days of next month past the 80 opened are
	// not service days, so only those opened count.
	var opened []dayDoc
	agentView := e.login(e.org, "agent", nil)
	agentView.expect(http.MethodGet, urlf("/api/v1/admin/services/%s/days?month=%s", e.svc, month), nil, http.StatusOK, &opened)

	var res struct {
		Selected bool          `json:"selected"`
		Added    []cartItemDoc `json:"added"`
		Skipped  []struct {
			Date    string `json:"date"`
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"skipped"`
		Removed []cartItemDoc `json:"removed"`
		Cart    struct {
			Status        string        `json:"status"`
			Items         []cartItemDoc `json:"items"`
			SubtotalCents int64         `json:"subtotal_cents"`
		} `json:"cart"`
	}
	toggle := func(child uuid.UUID, selected any) map[string]any {
		return map[string]any{"child_id": child, "service_id": e.svc, "month": month, "selected": selected}
	}
	parent.expect(http.MethodPost, "/api/v1/cart/month", toggle(child, true), http.StatusOK, &res)
	// Next month starts at least a day away: at most its first two days are too late.
	if len(res.Added)+len(res.Skipped) != len(opened) || len(res.Added) < len(opened)-2 {
		t.Fatalf("added %d, skipped %+v, of %d days", len(res.Added), res.Skipped, len(opened))
	}
	for _, s := range res.Skipped {
		if s.Reason != "deadline_passed" || s.Message == "" {
			t.Errorf("skipped %+v", s)
		}
	}
	if res.Cart.Status != "open" || len(res.Cart.Items) != len(res.Added) || res.Cart.SubtotalCents != int64(150*len(res.Added)) {
		t.Errorf("cart %+v", res.Cart)
	}

	parent.problem(http.MethodPost, "/api/v1/cart/month", toggle(otherChild, true), http.StatusNotFound, "not-found")
	p := parent.problem(http.MethodPost, "/api/v1/cart/month", map[string]any{"child_id": child, "service_id": e.svc, "month": "2026-13"}, http.StatusBadRequest, "invalid-request")
	if len(p.Errors) != 2 {
		t.Errorf("errors %+v", p.Errors)
	}

	parent.expect(http.MethodPost, "/api/v1/cart/month", toggle(child, false), http.StatusOK, &res)
	if len(res.Removed) == 0 || len(res.Cart.Items) != 0 || res.Selected {
		t.Errorf("untick: removed %d, cart %+v", len(res.Removed), res.Cart)
	}
	if e.taken(next.AddDate(0, 0, 3)) != 0 {
		t.Errorf("places not freed")
	}
}
