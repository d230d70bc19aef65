package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/document"
)

type waitlistDoc struct {
	ID             uuid.UUID  `json:"id"`
	ChildID        uuid.UUID  `json:"child_id"`
	ServiceID      uuid.UUID  `json:"service_id"`
	Date           string     `json:"date"`
	Rank           *int       `json:"rank"`
	Status         string     `json:"status"`
	OfferExpiresAt *time.Time `json:"offer_expires_at"`
}

// full makes the day full: capacity 1, booked by a family of its own.
func (e *bookingEnv) full(day time.Time) {
	e.t.Helper()
	holder, kid, _ := e.family(e.org, 650)
	_, err := e.q.UpsertServiceDay(e.ctx, db.UpsertServiceDayParams{ID: uuid.New(), OrgID: e.org, ServiceID: e.svc, Day: day, Open: true, Capacity: ptr(int32(1))})
	e.must(err)
	e.reserve(holder, kid, day)
}

func ptr[T any](v T) *T { return &v }

// The family's routes: join a full day (or a month's full days), see the rank in
// the list and the calendar, leave; refusals in French naming the day.
func TestFamilyWaitlistRoutes(t *testing.T) {
	e := newBookingEnv(t, true)
	_, child, parent := e.family(e.org, 650)
	_, _, stranger := e.family(e.org, 650)
	full, open := e.day(10), e.day(11)
	e.full(full)
	join := func(day time.Time) map[string]string {
		return map[string]string{"child_id": child.String(), "service_id": e.svc.String(), "date": ymd(day)}
	}

	bad := parent.problem(http.MethodPost, "/api/v1/waitlist", map[string]string{"child_id": child.String()}, http.StatusBadRequest, "invalid-request")
	if len(bad.Errors) != 2 || bad.Errors[0].Field != "service_id" || bad.Errors[1].Field != "date" {
		t.Errorf("bad request errors %+v", bad.Errors)
	}
	p := parent.problem(http.MethodPost, "/api/v1/waitlist", join(open), http.StatusConflict, "not-full")
	if want := "Le " + document.DayMonth(open) + " : il reste des places ce jour-là : réservez-le directement."; p.Detail != want {
		t.Errorf("not-full detail %q, want %q", p.Detail, want)
	}
	var entry waitlistDoc
	parent.expect(http.MethodPost, "/api/v1/waitlist", join(full), http.StatusCreated, &entry)
	if entry.Status != "waiting" || entry.Rank == nil || *entry.Rank != 1 || entry.Date != ymd(full) || entry.ChildID != child {
		t.Fatalf("joined %+v", entry)
	}
	p = parent.problem(http.MethodPost, "/api/v1/waitlist", join(full), http.StatusConflict, "waitlist-refused")
	if len(p.Errors) != 1 || p.Errors[0].Reason != "already_waiting" || !strings.HasPrefix(p.Errors[0].Message, "Le "+document.DayMonth(full)) {
		t.Errorf("joining twice: %+v", p)
	}
	// The same request retried with its Idempotency-Key (the answer was lost): its entry.
	var again waitlistDoc
	parent.expectWith(http.MethodPost, "/api/v1/waitlist", join(full), map[string]string{"Idempotency-Key": "join-1"}, http.StatusCreated, &again)
	if again.ID != entry.ID || *again.Rank != 1 {
		t.Errorf("retried join: %+v", again)
	}
	p = parent.problem(http.MethodPost, "/api/v1/waitlist", join(e.day(1)), http.StatusConflict, "waitlist-refused")
	if p.Errors[0].Reason != "deadline_passed" {
		t.Errorf("tomorrow: %+v", p)
	}
	// Another family's child.
	p = stranger.problem(http.MethodPost, "/api/v1/waitlist", join(full), http.StatusConflict, "waitlist-refused")
	if p.Errors[0].Reason != "not_your_child" {
		t.Errorf("stranger: %+v", p)
	}

	var list []waitlistDoc
	parent.expect(http.MethodGet, "/api/v1/waitlist", nil, http.StatusOK, &list)
	if len(list) != 1 || list[0].ID != entry.ID || *list[0].Rank != 1 {
		t.Fatalf("list %+v", list)
	}
	stranger.expect(http.MethodGet, "/api/v1/waitlist", nil, http.StatusOK, &list)
	if len(list) != 0 {
		t.Errorf("another family sees %+v", list)
	}
	var cal []struct {
		Date       string `json:"date"`
		State      string `json:"state"`
		PlacesLeft *int   `json:"places_left"`
		Waitlist   *struct {
			ID     uuid.UUID `json:"id"`
			Status string    `json:"status"`
			Rank   *int      `json:"rank"`
		} `json:"waitlist"`
	}
	parent.expect(http.MethodGet, urlf("/api/v1/children/%s/calendar?service_id=%s&month=%s", child, e.svc, full.Format("2006-01")), nil, http.StatusOK, &cal)
	for _, d := range cal {
		if d.Date == ymd(full) && (d.State != "full" || d.Waitlist == nil || d.Waitlist.ID != entry.ID || *d.Waitlist.Rank != 1) {
			t.Errorf("calendar of the full day: %+v", d)
		}
	}

	// The month: every full day joined, the others skipped with their reason.
	other := e.day(12)
	e.full(other)
	var month struct {
		Joined  []waitlistDoc `json:"joined"`
		Skipped []struct {
			Date   string `json:"date"`
			Reason string `json:"reason"`
		} `json:"skipped"`
	}
	parent.expect(http.MethodPost, "/api/v1/waitlist/month", map[string]string{"child_id": child.String(), "service_id": e.svc.String(), "month": other.Format("2006-01")}, http.StatusOK, &month)
	if len(month.Joined) != 1 || month.Joined[0].Date != ymd(other) {
		t.Errorf("month joined %+v", month.Joined)
	}
	reasons := map[string]string{}
	for _, s := range month.Skipped {
		reasons[s.Date] = s.Reason
	}
	if reasons[ymd(full)] != "already_waiting" {
		t.Errorf("month skipped %+v", month.Skipped)
	}
	parent.problem(http.MethodPost, "/api/v1/waitlist/month", map[string]string{"child_id": child.String(), "service_id": e.svc.String(), "month": "2026-13"}, http.StatusBadRequest, "invalid-request")

	// Leaving: the entry is left; again is a no-op; another family's is not found.
	stranger.problem(http.MethodDelete, "/api/v1/waitlist/"+entry.ID.String(), nil, http.StatusNotFound, "not-found")
	var left waitlistDoc
	parent.expect(http.MethodDelete, "/api/v1/waitlist/"+entry.ID.String(), nil, http.StatusOK, &left)
	if left.Status != "left" || left.Rank != nil {
		t.Errorf("left %+v", left)
	}
	parent.expect(http.MethodDelete, "/api/v1/waitlist/"+entry.ID.String(), nil, http.StatusOK, &left)
	parent.problem(http.MethodDelete, "/api/v1/waitlist/not-an-id", nil, http.StatusNotFound, "not-found")
}

// Staff: a booking of theirs on a day whose freed place the list would have had
// needs an override with a reason; the day's counters show who waits; the offer
// hold is a service setting.
func TestStaffWaitlistRoutesWithoutAWorker(t *testing.T) {
	e := newBookingEnv(t, true)
	agent := e.login(e.org, "agent", nil)
	admin := e.login(e.org, "admin", nil)
	fam, child, parent := e.family(e.org, 650)
	waiting, waitingChild, waiter := e.family(e.org, 650)
	day := e.day(10)
	e.full(day)
	waiter.expect(http.MethodPost, "/api/v1/waitlist", map[string]string{"child_id": waitingChild.String(), "service_id": e.svc.String(), "date": ymd(day)}, http.StatusCreated, nil)
	// A place frees (the capacity grows): the list's.
	_, err := e.q.UpsertServiceDay(e.ctx, db.UpsertServiceDayParams{ID: uuid.New(), OrgID: e.org, ServiceID: e.svc, Day: day, Open: true, Capacity: ptr(int32(2))})
	e.must(err)
	parent.problem(http.MethodPost, "/api/v1/cart/items", map[string]any{"items": []map[string]string{{"child_id": child.String(), "service_id": e.svc.String(), "date": ymd(day)}}},
		http.StatusConflict, "items-refused")

	book := func(override bool, reason string) map[string]any {
		return map[string]any{"items": []map[string]string{{"child_id": child.String(), "service_id": e.svc.String(), "date": ymd(day)}},
			"override_waitlist": override, "reason": reason}
	}
	p := agent.problem(http.MethodPost, urlf("/api/v1/admin/families/%s/reservations", fam.ID), book(false, ""), http.StatusConflict, "items-refused")
	if p.Errors[0].Reason != "waitlist" || !strings.Contains(p.Errors[0].Message, "liste d'attente") {
		t.Errorf("staff booking on a day with a list: %+v", p.Errors)
	}
	agent.problem(http.MethodPost, urlf("/api/v1/admin/families/%s/reservations", fam.ID), book(true, ""), http.StatusBadRequest, "invalid-request")
	agent.expect(http.MethodPost, urlf("/api/v1/admin/families/%s/reservations", fam.ID), book(true, "fratrie accueillie"), http.StatusCreated, nil)

	var days []struct {
		Date       string `json:"date"`
		Taken      int    `json:"taken"`
		Waiting    int    `json:"waiting"`
		PlacesLeft *int   `json:"places_left"`
	}
	agent.expect(http.MethodGet, urlf("/api/v1/admin/services/%s/days?month=%s", e.svc, day.Format("2006-01")), nil, http.StatusOK, &days)
	for _, d := range days {
		if d.Date == ymd(day) && (d.Taken != 2 || d.Waiting != 1 || d.PlacesLeft == nil || *d.PlacesLeft != 0) {
			t.Errorf("day %+v", d)
		}
	}
	var list struct {
		Waiting int `json:"waiting"`
		Entries []struct {
			ID         uuid.UUID `json:"id"`
			Rank       *int      `json:"rank"`
			FamilyID   uuid.UUID `json:"family_id"`
			FamilyName string    `json:"family_name"`
		} `json:"entries"`
		OfferHoldHours float64 `json:"offer_hold_hours"`
	}
	agent.expect(http.MethodGet, urlf("/api/v1/admin/services/%s/days/%s/waitlist", e.svc, ymd(day)), nil, http.StatusOK, &list)
	if list.Waiting != 1 || len(list.Entries) != 1 || list.Entries[0].FamilyID != waiting.ID || *list.Entries[0].Rank != 1 || list.OfferHoldHours != 24 {
		t.Errorf("day's list %+v", list)
	}
	agent.problem(http.MethodPatch, urlf("/api/v1/admin/services/%s/days/%s/waitlist", e.svc, ymd(day)), map[string]any{"order": []uuid.UUID{list.Entries[0].ID}}, http.StatusBadRequest, "invalid-request")
	agent.problem(http.MethodPatch, urlf("/api/v1/admin/services/%s/days/%s/waitlist", e.svc, ymd(day)), map[string]any{"order": []uuid.UUID{}, "reason": "ordre"}, http.StatusConflict, "waitlist-changed")
	agent.expect(http.MethodPatch, urlf("/api/v1/admin/services/%s/days/%s/waitlist", e.svc, ymd(day)), map[string]any{"order": []uuid.UUID{list.Entries[0].ID}, "reason": "ordre confirmé"}, http.StatusOK, &list)

	// The offer hold, per service (admins).
	var svc struct {
		WaitlistOfferHours float64 `json:"waitlist_offer_hours"`
	}
	admin.problem(http.MethodPatch, urlf("/api/v1/admin/services/%s", e.svc), map[string]any{"waitlist_offer_hours": 0}, http.StatusBadRequest, "invalid-request")
	admin.expect(http.MethodPatch, urlf("/api/v1/admin/services/%s", e.svc), map[string]any{"waitlist_offer_hours": 48}, http.StatusOK, &svc)
	if svc.WaitlistOfferHours != 48 {
		t.Errorf("offer hold %v h", svc.WaitlistOfferHours)
	}
}

// expectWith is expect with extra headers.
func (a *apiCaller) expectWith(method, path string, body any, headers map[string]string, want int, out any) {
	a.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		a.t.Fatal(err)
	}
	req, err := http.NewRequest(method, a.base+path, bytes.NewReader(b))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.token)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		a.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		a.t.Fatal(err)
	}
}
