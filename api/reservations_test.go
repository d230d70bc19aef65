package api_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/document"
)

type reservationDoc struct {
	ID               uuid.UUID  `json:"id"`
	ChildID          uuid.UUID  `json:"child_id"`
	Date             string     `json:"date"`
	Status           string     `json:"status"`
	PriceCents       int64      `json:"price_cents"`
	Source           string     `json:"source"`
	CancellableUntil *time.Time `json:"cancellable_until"`
}

type cancellationDoc struct {
	Reservation      reservationDoc `json:"reservation"`
	InTime           bool           `json:"in_time"`
	CreditedCents    int64          `json:"credited_cents"`
	ReversedCents    int64          `json:"reversed_cents"`
	CreditCents      int64          `json:"credit_cents"`
	OutstandingCents int64          `json:"outstanding_cents"`
}

func TestFamilyReservationsAndCancellation(t *testing.T) {
	e := newBookingEnv(t, false)
	fam, child, parent := e.family(e.org, 650)
	_, otherChild, stranger := e.family(e.org, 650)
	soon, later := e.day(1), e.day(5)
	res := e.reserve(fam, child, soon, later)

	// The family calendar lists its own reservations only, with until when each
	// can be cancelled.
	var list []reservationDoc
	parent.expect(http.MethodGet, urlf("/api/v1/reservations?from=%s&to=%s", ymd(e.day(-10)), ymd(e.day(10))), nil, http.StatusOK, &list)
	if len(list) != 2 || list[0].Date != ymd(soon) || list[1].Date != ymd(later) || list[0].ChildID != child {
		t.Fatalf("reservations %+v", list)
	}
	if list[0].CancellableUntil != nil {
		t.Errorf("tomorrow's reservation is cancellable until %v; its deadline has passed", list[0].CancellableUntil)
	}
	wantUntil := time.Date(later.Year(), later.Month(), later.Day()-2, 10, 0, 0, 0, parisZone)
	if list[1].CancellableUntil == nil || !list[1].CancellableUntil.Equal(wantUntil) {
		t.Errorf("cancellable until %v, want %v", list[1].CancellableUntil, wantUntil)
	}
	var none []reservationDoc
	stranger.expect(http.MethodGet, urlf("/api/v1/reservations?from=%s&to=%s", ymd(e.day(-10)), ymd(e.day(10))), nil, http.StatusOK, &none)
	if len(none) != 0 {
		t.Errorf("another family sees %d reservations", len(none))
	}

	// Another family's reservation does not exist for it.
	stranger.problem(http.MethodPost, urlf("/api/v1/reservations/%s/cancel", res[ymd(later)]), nil, http.StatusNotFound, "not-found")
	parent.problem(http.MethodPost, "/api/v1/reservations/not-a-uuid/cancel", nil, http.StatusNotFound, "not-found")

	// Too late: refused, with the deadline in French.
	p := parent.problem(http.MethodPost, urlf("/api/v1/reservations/%s/cancel", res[ymd(soon)]), nil, http.StatusConflict, "cancellation-deadline-passed")
	wantDetail := "Le délai d'annulation était le " + document.WeekdayDate(e.day(-1)) + " à 10h00."
	if p.Detail != wantDetail {
		t.Errorf("detail %q, want %q", p.Detail, wantDetail)
	}

	// In time: cancelled, place freed, price credited.
	before := e.taken(later)
	var k cancellationDoc
	parent.expect(http.MethodPost, urlf("/api/v1/reservations/%s/cancel", res[ymd(later)]), nil, http.StatusOK, &k)
	if k.Reservation.Status != "cancelled" || !k.InTime || k.CreditedCents != 150 || k.ReversedCents != 0 || k.CreditCents != 150 {
		t.Errorf("cancellation %+v", k)
	}
	if e.taken(later) != before-1 {
		t.Errorf("taken %d, want %d", e.taken(later), before-1)
	}
	var me struct {
		CreditCents int64 `json:"credit_cents"`
	}
	parent.expect(http.MethodGet, "/api/v1/me", nil, http.StatusOK, &me)
	if me.CreditCents != 150 {
		t.Errorf("/me credit %d, want 150", me.CreditCents)
	}
	parent.problem(http.MethodPost, urlf("/api/v1/reservations/%s/cancel", res[ymd(later)]), nil, http.StatusConflict, "reservation-already-cancelled")

	// The status filter.
	var cancelled []reservationDoc
	parent.expect(http.MethodGet, urlf("/api/v1/reservations?from=%s&to=%s&status=cancelled", ymd(e.day(-10)), ymd(e.day(10))), nil, http.StatusOK, &cancelled)
	if len(cancelled) != 1 || cancelled[0].ID != res[ymd(later)] {
		t.Errorf("cancelled %+v", cancelled)
	}
	bad := parent.problem(http.MethodGet, "/api/v1/reservations?status=maybe", nil, http.StatusBadRequest, "invalid-request")
	if len(bad.Errors) != 1 || bad.Errors[0].Field != "status" {
		t.Errorf("errors %+v", bad.Errors)
	}
	_ = otherChild
}

func TestStaffBookAndCancelOnBehalf(t *testing.T) {
	e := newBookingEnv(t, false)
	fam, child, parent := e.family(e.org, 1400)
	agent := e.login(e.org, "agent", nil)
	foreignOrg := e.newOrg()
	foreignFam, _, _ := e.family(foreignOrg, 650)
	tomorrow := e.day(1)
	book := urlf("/api/v1/admin/families/%s/reservations", fam.ID)
	items := []map[string]any{{"child_id": child, "service_id": e.svc, "date": ymd(tomorrow)}}

	parent.problem(http.MethodPost, book, map[string]any{"items": items}, http.StatusForbidden, "forbidden")
	p := agent.problem(http.MethodPost, book, map[string]any{"items": items}, http.StatusConflict, "items-refused")
	if len(p.Errors) != 1 || p.Errors[0].Reason != "deadline_passed" || p.Errors[0].Field != "items[0]" {
		t.Errorf("errors %+v", p.Errors)
	}
	p = agent.problem(http.MethodPost, book, map[string]any{"items": items, "override_deadline": true}, http.StatusBadRequest, "invalid-request")
	if len(p.Errors) != 1 || p.Errors[0].Field != "reason" {
		t.Errorf("errors %+v", p.Errors)
	}
	agent.problem(http.MethodPost, urlf("/api/v1/admin/families/%s/reservations", foreignFam.ID), map[string]any{"items": items, "override_deadline": true, "reason": "x"}, http.StatusNotFound, "not-found")

	var booked struct {
		Reservations []reservationDoc `json:"reservations"`
		ChargedCents int64            `json:"charged_cents"`
	}
	agent.expect(http.MethodPost, book, map[string]any{"items": items, "override_deadline": true, "reason": "appel de la mère"}, http.StatusCreated, &booked)
	if len(booked.Reservations) != 1 || booked.ChargedCents != 380 || booked.Reservations[0].Source != "staff" || booked.Reservations[0].Status != "confirmed" {
		t.Fatalf("booked %+v", booked)
	}
	var me struct {
		OutstandingCents int64 `json:"outstanding_cents"`
	}
	parent.expect(http.MethodGet, "/api/v1/me", nil, http.StatusOK, &me)
	if me.OutstandingCents != 380 {
		t.Errorf("outstanding %d, want 380", me.OutstandingCents)
	}

	// The day's list shows the child, its class and its family.
	var dayList struct {
		Taken    int32 `json:"taken"`
		Children []struct {
			ReservationID uuid.UUID `json:"reservation_id"`
			FirstName     string    `json:"first_name"`
			ClassName     string    `json:"class_name"`
			FamilyID      uuid.UUID `json:"family_id"`
			FamilyName    string    `json:"family_name"`
			Source        string    `json:"source"`
		} `json:"children"`
	}
	agent.expect(http.MethodGet, urlf("/api/v1/admin/services/%s/days/%s/children", e.svc, ymd(tomorrow)), nil, http.StatusOK, &dayList)
	if len(dayList.Children) != 1 || dayList.Taken != 1 {
		t.Fatalf("day list %+v", dayList)
	}
	if ch := dayList.Children[0]; ch.FirstName != "Léa" || ch.ClassName != "CM1" || ch.FamilyID != fam.ID || !strings.HasPrefix(ch.FamilyName, "Famille ") || ch.Source != "staff" {
		t.Errorf("child %+v", ch)
	}

	// The family cannot cancel it any more; staff can, with a reason.
	id := booked.Reservations[0].ID
	parent.problem(http.MethodPost, urlf("/api/v1/reservations/%s/cancel", id), nil, http.StatusConflict, "cancellation-deadline-passed")
	agent.problem(http.MethodPost, urlf("/api/v1/admin/reservations/%s/cancel", id), map[string]any{}, http.StatusBadRequest, "invalid-request")
	foreignAgent := e.login(foreignOrg, "agent", nil)
	foreignAgent.problem(http.MethodPost, urlf("/api/v1/admin/reservations/%s/cancel", id), map[string]any{"reason": "x"}, http.StatusNotFound, "not-found")
	// Giving the price back past the deadline is finance's decision, not the desk's.
	p = agent.problem(http.MethodPost, urlf("/api/v1/admin/reservations/%s/cancel", id), map[string]any{"reason": "erreur de saisie", "credit": true}, http.StatusForbidden, "late-credit-forbidden")
	if len(p.Errors) != 1 || p.Errors[0].Field != "credit" {
		t.Errorf("errors %+v", p.Errors)
	}
	if st := e.count(`SELECT count(*) FROM reservations WHERE id = $1 AND status = 'confirmed'`, id); st != 1 {
		t.Fatal("a refused cancellation cancelled")
	}
	finance := e.login(e.org, "finance", nil)
	var k cancellationDoc
	finance.expect(http.MethodPost, urlf("/api/v1/admin/reservations/%s/cancel", id), map[string]any{"reason": "erreur de saisie", "credit": true}, http.StatusOK, &k)
	// Never paid: the charge is reversed, nothing is credited.
	if k.Reservation.Status != "cancelled" || k.InTime || k.ReversedCents != 380 || k.CreditedCents != 0 || k.OutstandingCents != 0 {
		t.Errorf("cancellation %+v", k)
	}
	if e.taken(tomorrow) != 0 {
		t.Errorf("place not freed")
	}
	agent.problem(http.MethodPost, urlf("/api/v1/admin/reservations/%s/cancel", id), map[string]any{"reason": "x"}, http.StatusConflict, "reservation-already-cancelled")
}

// The capacity test of the cart package, through the HTTP API: 30 families, their
// own sessions, racing for the last 3 places of a day.
func TestLastPlacesOverHTTP(t *testing.T) {
	e := newBookingEnv(t, true)
	day := e.day(10)
	agent := e.login(e.org, "agent", nil)
	agent.expect(http.MethodPut, urlf("/api/v1/admin/services/%s/days", e.svc), map[string]any{"days": []map[string]any{{"date": ymd(day), "capacity": 3}}}, http.StatusOK, nil)
	const n = 30
	callers := make([]*apiCaller, n)
	children := make([]uuid.UUID, n)
	for i := range n {
		_, children[i], callers[i] = e.family(e.org, 650)
	}
	start := make(chan struct{})
	statuses := make([]int, n)
	bodies := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			status, raw, _ := callers[i].do(http.MethodPost, "/api/v1/cart/items", map[string]any{
				"items": []map[string]any{{"child_id": children[i], "service_id": e.svc, "date": ymd(day)}},
			})
			statuses[i], bodies[i] = status, string(raw)
		})
	}
	close(start)
	wg.Wait()
	created, full := 0, 0
	for i, st := range statuses {
		switch {
		case st == http.StatusCreated:
			created++
		case st == http.StatusConflict && strings.Contains(bodies[i], `"reason":"full"`):
			full++
		default:
			t.Errorf("family %d: %d %s", i, st, bodies[i])
		}
	}
	if created != 3 || full != n-3 {
		t.Errorf("%d added, %d full; want 3 and %d", created, full, n-3)
	}
	if e.taken(day) != 3 {
		t.Errorf("taken %d, want 3", e.taken(day))
	}
}
