package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/config"
)

type familyDetailDoc struct {
	ID      uuid.UUID `json:"id"`
	QF      int32     `json:"qf"`
	Members []struct {
		ID        uuid.UUID `json:"id"`
		Kind      string    `json:"kind"`
		FirstName string    `json:"first_name"`
		Allergies string    `json:"allergies"`
	} `json:"members"`
	AuthorizedPersons []struct {
		ID uuid.UUID `json:"id"`
	} `json:"authorized_persons"`
	Accounts []struct {
		ID          uuid.UUID `json:"id"`
		Login       string    `json:"login"`
		Disabled    bool      `json:"disabled"`
		PasswordSet bool      `json:"password_set"`
	} `json:"accounts"`
}

// A family created at the desk: two children, its parent invited by e-mail;
// its QF changed by finance only; an authorised person added and removed; its
// login disabled (its session ends at once) and enabled, links sent again; every
// step in the audit log, which filters by family, staff member and period.
func TestFamilyRecordAtTheDesk(t *testing.T) {
	e := newAccountEnv(t, nil)
	org := e.newOrg("mairie@ville.test")
	agent, finance := e.session(org, "agent", nil), e.session(org, "finance", nil)
	other := e.newFamily(org, "Voisin")

	var f familyDetailDoc
	agent.expect(http.MethodPost, "/api/v1/admin/families", map[string]any{
		"name": "Durand", "qf": 720, "email": "durand@famille.test", "phone": "06 12 34 56 78", "account_login": "parent.durand@famille.test",
		"members": []map[string]any{
			{"kind": "adult", "first_name": "Claire", "last_name": "Durand"},
			{"kind": "child", "first_name": "Emma", "last_name": "Durand", "birth_date": "2017-05-02", "school": "École Jules Ferry", "class_name": "CE2", "allergies": "arachide"},
			{"kind": "child", "first_name": "Noah", "last_name": "Durand", "birth_date": "2019-09-14", "school": "École Jules Ferry", "class_name": "GS"},
		},
	}, http.StatusCreated, &f)
	if len(f.Members) != 3 || len(f.Accounts) != 1 || f.Accounts[0].PasswordSet || f.QF != 720 {
		t.Fatalf("created %+v", f)
	}
	for _, m := range f.Members {
		if m.FirstName == "Emma" && m.Allergies != "arachide" {
			t.Errorf("Emma's allergies: %q", m.Allergies)
		}
	}
	invite := e.mail.next(t)
	if invite.To[0] != "parent.durand@famille.test" || !strings.Contains(invite.Text, "/#/set-password?token=") {
		t.Fatalf("invitation %+v", invite)
	}
	fam := "/api/v1/admin/families/" + f.ID.String()

	// The QF sets the prices: finance changes it, not the desk.
	agent.fails(http.MethodPatch, fam, map[string]any{"qf": 300}, nil, http.StatusForbidden, "qf-forbidden")
	agent.expect(http.MethodPatch, fam, map[string]any{"qf": 720, "phone": "06 12 34 56 79"}, http.StatusOK, &f)
	finance.expect(http.MethodPatch, fam, map[string]any{"qf": 810}, http.StatusOK, &f)
	if f.QF != 810 {
		t.Fatalf("qf %d", f.QF)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE action = 'family.qf_change' AND entity_id = $1 AND actor_id = $2
		AND (before->>'qf')::int = 720 AND (after->>'qf')::int = 810`, f.ID.String(), finance.userID); n != 1 {
		t.Errorf("QF change audited %d times", n)
	}

	// Who may collect the children, kept by staff too.
	var person struct {
		ID uuid.UUID `json:"id"`
	}
	agent.fails(http.MethodPost, fam+"/authorized-persons", map[string]any{"first_name": "Paul"}, nil, http.StatusBadRequest, "invalid-request")
	agent.expect(http.MethodPost, fam+"/authorized-persons", map[string]any{"first_name": "Paul", "last_name": "Durand", "phone": "0611223344", "relationship": "oncle"}, http.StatusCreated, &person)
	agent.fails(http.MethodDelete, "/api/v1/admin/families/"+other.String()+"/authorized-persons/"+person.ID.String(), nil, nil, http.StatusNotFound, "not-found")
	agent.expect(http.MethodDelete, fam+"/authorized-persons/"+person.ID.String(), nil, http.StatusNoContent, nil)

	// The parent chooses a password, logs in; staff disable the login: its
	// session ends at once and it cannot log in again until enabled.
	pw := "un mot de passe solide"
	e.anon().expect(http.MethodPost, "/api/v1/auth/password/reset", map[string]string{"token": tokenIn(t, invite.Text, "set-password"), "new_password": pw}, http.StatusNoContent, nil)
	parent := e.login("parent.durand@famille.test", pw)
	parent.expect(http.MethodGet, "/api/v1/me", nil, http.StatusOK, nil)
	account := fam + "/accounts/" + f.Accounts[0].ID.String()
	var acc struct {
		Disabled bool `json:"disabled"`
	}
	agent.expect(http.MethodPatch, account, map[string]any{"disabled": true}, http.StatusOK, &acc)
	if !acc.Disabled {
		t.Fatal("not disabled")
	}
	parent.fails(http.MethodGet, "/api/v1/me", nil, nil, http.StatusUnauthorized, "unauthorized")
	e.anon().fails(http.MethodPost, "/api/v1/auth/login", map[string]string{"login": "parent.durand@famille.test", "password": pw}, nil, http.StatusUnauthorized, "invalid-credentials")
	agent.fails(http.MethodPost, account+"/link", nil, nil, http.StatusConflict, "account-disabled")
	agent.expect(http.MethodPatch, account, map[string]any{"disabled": false}, http.StatusOK, &acc)
	e.login("parent.durand@famille.test", pw).expect(http.MethodGet, "/api/v1/me", nil, http.StatusOK, nil)
	// A link again: a reset link for a login that has a password.
	var sent struct{ Login, Purpose string }
	agent.expect(http.MethodPost, account+"/link", nil, http.StatusAccepted, &sent)
	if sent.Purpose != "reset" || !strings.Contains(e.mail.next(t).Text, "/#/reset?token=") {
		t.Errorf("link %+v", sent)
	}
	// A second parent, invited, then the link sent again: a set-password link.
	var second struct {
		ID uuid.UUID `json:"id"`
	}
	agent.expect(http.MethodPost, fam+"/accounts", map[string]string{"login": "claire.durand@famille.test"}, http.StatusCreated, &second)
	e.mail.next(t)
	agent.expect(http.MethodPost, fam+"/accounts/"+second.ID.String()+"/link", nil, http.StatusAccepted, &sent)
	if msg := e.mail.next(t); sent.Purpose != "set" || msg.To[0] != "claire.durand@famille.test" || !strings.Contains(msg.Text, "/#/set-password?token=") {
		t.Errorf("second link %+v %q", sent, msg.Text)
	}
	if n := e.count(`SELECT count(*) FROM audit_log WHERE entity = 'user' AND action IN ('user.disable', 'user.enable', 'user.link_sent') AND actor_id = $1`, agent.userID); n != 4 {
		t.Errorf("%d login changes audited, want 4", n)
	}

	// The audit log: one family's story, one staff member's actions, a period.
	admin := e.session(org, "admin", nil)
	var page struct {
		Items []struct {
			Action   string    `json:"action"`
			EntityID string    `json:"entity_id"`
			ActorID  uuid.UUID `json:"actor_id"`
		} `json:"items"`
	}
	admin.expect(http.MethodGet, "/api/v1/admin/audit?family_id="+f.ID.String(), nil, http.StatusOK, &page)
	actions := map[string]bool{}
	for _, it := range page.Items {
		actions[it.Action] = true
	}
	for _, a := range []string{"family.create", "family.update", "family.qf_change", "authorized_person.create", "authorized_person.delete", "user.disable", "user.enable", "user.link_sent", "user.create", "user.password_set"} {
		if !actions[a] {
			t.Errorf("the family's audit lacks %s: %v", a, actions)
		}
	}
	admin.expect(http.MethodGet, "/api/v1/admin/audit?family_id="+other.String(), nil, http.StatusOK, &page)
	if len(page.Items) != 0 {
		t.Errorf("another family's audit shows %+v", page.Items)
	}
	admin.expect(http.MethodGet, "/api/v1/admin/audit?actor_id="+finance.userID.String(), nil, http.StatusOK, &page)
	if len(page.Items) != 1 || page.Items[0].Action != "family.qf_change" {
		t.Errorf("finance's actions: %+v", page.Items)
	}
	tomorrow := time.Now().AddDate(0, 0, 1).Format(time.DateOnly)
	admin.expect(http.MethodGet, "/api/v1/admin/audit?from="+tomorrow, nil, http.StatusOK, &page)
	if len(page.Items) != 0 {
		t.Errorf("audit from tomorrow: %+v", page.Items)
	}
	admin.expect(http.MethodGet, "/api/v1/admin/audit?to="+tomorrow+"&actor_id="+finance.userID.String(), nil, http.StatusOK, &page)
	if len(page.Items) != 1 {
		t.Errorf("audit to tomorrow: %+v", page.Items)
	}
	admin.fails(http.MethodGet, "/api/v1/admin/audit?from=demain", nil, nil, http.StatusBadRequest, "invalid-request")

	// Search by a member's full name, a child's school, a phone however spaced, a login.
	for q, want := range map[string]int{"emma durand": 1, "Durand Noah": 1, "jules ferry": 1, "0612 3456 79": 1, "06.12.34": 1, "claire.durand@": 1, "Voisin": 1, "zzz": 0} {
		var res struct {
			Items []struct {
				ID uuid.UUID `json:"id"`
			} `json:"items"`
		}
		agent.expect(http.MethodGet, "/api/v1/admin/families?q="+strings.ReplaceAll(q, " ", "+"), nil, http.StatusOK, &res)
		if len(res.Items) != want || want == 1 && q != "Voisin" && res.Items[0].ID != f.ID {
			t.Errorf("search %q: %+v", q, res.Items)
		}
	}
	var kids []struct {
		FirstName  string    `json:"first_name"`
		FamilyID   uuid.UUID `json:"family_id"`
		FamilyName string    `json:"family_name"`
	}
	agent.expect(http.MethodGet, "/api/v1/admin/children?q=noah", nil, http.StatusOK, &kids)
	if len(kids) != 1 || kids[0].FamilyID != f.ID || kids[0].FamilyName != "Durand" {
		t.Errorf("children search %+v", kids)
	}
}

// Staff accounts get their link again from an admin only.
func TestStaffUserLinkAgain(t *testing.T) {
	e := newAccountEnv(t, nil)
	org := e.newOrg("mairie@ville.test")
	admin, agent := e.session(org, "admin", nil), e.session(org, "agent", nil)
	var u struct {
		ID uuid.UUID `json:"id"`
	}
	admin.expect(http.MethodPost, "/api/v1/admin/users", map[string]string{"login": "nouvel.agent@ville.test", "role": "agent"}, http.StatusCreated, &u)
	e.mail.next(t)
	agent.fails(http.MethodPost, "/api/v1/admin/users/"+u.ID.String()+"/link", nil, nil, http.StatusForbidden, "forbidden")
	admin.expect(http.MethodPost, "/api/v1/admin/users/"+u.ID.String()+"/link", nil, http.StatusAccepted, nil)
	if msg := e.mail.next(t); msg.To[0] != "nouvel.agent@ville.test" || !strings.Contains(msg.Text, "set-password?token=") {
		t.Fatalf("link %q", msg.Text)
	}
}

// Closures are org data: admins add and remove them; generating days skips them.
func TestClosures(t *testing.T) {
	e := newBookingEnv(t, false)
	admin, agent := e.login(e.org, "admin", nil), e.login(e.org, "agent", nil)
	from := e.day(100)
	body := map[string]any{"first_day": ymd(from.AddDate(0, 0, 2)), "last_day": ymd(from.AddDate(0, 0, 4)), "label": "Pont"}
	agent.problem(http.MethodPost, "/api/v1/admin/closures", body, http.StatusForbidden, "forbidden")
	admin.problem(http.MethodPost, "/api/v1/admin/closures", map[string]any{"first_day": ymd(from), "last_day": ymd(from.AddDate(0, 0, -1)), "label": ""}, http.StatusBadRequest, "invalid-request")
	var c struct {
		ID uuid.UUID `json:"id"`
	}
	admin.expect(http.MethodPost, "/api/v1/admin/closures", body, http.StatusCreated, &c)
	admin.problem(http.MethodPost, "/api/v1/admin/closures", body, http.StatusConflict, "closure-exists")
	var list []struct{ Label string }
	agent.expect(http.MethodGet, "/api/v1/admin/closures?from="+ymd(from)+"&to="+ymd(from.AddDate(0, 0, 10)), nil, http.StatusOK, &list)
	if len(list) != 1 || list[0].Label != "Pont" {
		t.Fatalf("closures %+v", list)
	}
	var gen struct{ Created int }
	admin.expect(http.MethodPost, urlf("/api/v1/admin/services/%s/days/generate", e.svc), map[string]any{"from": ymd(from), "to": ymd(from.AddDate(0, 0, 6))}, http.StatusOK, &gen)
	if gen.Created != 4 {
		t.Fatalf("%d days generated over a week with 3 closed days, want 4", gen.Created)
	}
	agent.problem(http.MethodDelete, "/api/v1/admin/closures/"+c.ID.String(), nil, http.StatusForbidden, "forbidden")
	admin.expect(http.MethodDelete, "/api/v1/admin/closures/"+c.ID.String(), nil, http.StatusNoContent, nil)
	admin.problem(http.MethodDelete, "/api/v1/admin/closures/"+c.ID.String(), nil, http.StatusNotFound, "not-found")
	if n := e.count(`SELECT count(*) FROM audit_log WHERE entity = 'closure'`); n != 2 {
		t.Errorf("%d closure audit rows", n)
	}
}

// A family's reservations for staff: by period, cancelled ones too, with who
// booked them; an agent cancels past the deadline without giving the price back.
func TestFamilyReservationsForStaff(t *testing.T) {
	e := newBookingEnv(t, false)
	fam, child, _ := e.family(e.org, 1400)
	agent := e.login(e.org, "agent", nil)
	online := e.reserve(fam, child, e.day(1), e.day(10))
	var booked struct {
		Reservations []reservationDoc `json:"reservations"`
	}
	agent.expect(http.MethodPost, urlf("/api/v1/admin/families/%s/reservations", fam.ID),
		map[string]any{"items": []map[string]any{{"child_id": child, "service_id": e.svc, "date": ymd(e.day(12))}}}, http.StatusCreated, &booked)
	var list []struct {
		ID            uuid.UUID `json:"id"`
		Status        string    `json:"status"`
		ChildName     string    `json:"child_name"`
		ServiceName   string    `json:"service_name"`
		BookedBy      string    `json:"booked_by"`
		InTime        bool      `json:"in_time"`
		CanCreditLate bool      `json:"can_credit_late"`
	}
	path := urlf("/api/v1/admin/families/%s/reservations?from=%s&to=%s", fam.ID, ymd(e.day(0)), ymd(e.day(20)))
	agent.expect(http.MethodGet, path, nil, http.StatusOK, &list)
	if len(list) != 3 || list[0].InTime || !list[1].InTime || list[0].CanCreditLate || list[0].ChildName != "Léa Martin" || list[0].ServiceName != "Restauration scolaire" {
		t.Fatalf("list %+v", list)
	}
	if list[0].BookedBy != "" || !strings.HasSuffix(list[2].BookedBy, "@test") {
		t.Errorf("booked by: %q (online), %q (staff)", list[0].BookedBy, list[2].BookedBy)
	}
	// Past the deadline an agent cancels without giving the price back.
	var k cancellationDoc
	agent.expect(http.MethodPost, urlf("/api/v1/admin/reservations/%s/cancel", online[ymd(e.day(1))]), map[string]any{"reason": "malade"}, http.StatusOK, &k)
	if k.InTime || k.CreditedCents != 0 || k.ReversedCents != 0 {
		t.Errorf("late cancellation by the desk %+v", k)
	}
	agent.expect(http.MethodGet, path, nil, http.StatusOK, &list)
	if list[0].Status != "cancelled" {
		t.Errorf("cancelled reservation listed as %s", list[0].Status)
	}
	agent.problem(http.MethodGet, urlf("/api/v1/admin/families/%s/reservations?from=%s&to=%s", fam.ID, ymd(e.day(0)), ymd(e.day(500))), nil, http.StatusBadRequest, "invalid-request")
}

// Going live with PayFiP without SQL: an admin sets the org's numcli and moves
// saisie from T to W, giving the password again; the change is audited; agents
// cannot; in production saisie never goes back to T.
func TestAdminEditsTheOrgsPayFiPSettings(t *testing.T) {
	for _, env := range []string{"dev", "production"} {
		t.Run(env, func(t *testing.T) {
			e := newAccountEnv(t, func(c *config.Config) { c.Env = env })
			org := e.newOrg("mairie@ville.test")
			pw := "le mot de passe de l'admin"
			e.newUser(org, "admin", nil, "admin@ville.test", pw)
			admin := e.login("admin@ville.test", pw)
			agent := e.session(org, "agent", nil)
			type orgDoc struct{ Numcli, Saisie, Name string }
			var got orgDoc

			// The name needs no password; PayFiP's settings do.
			admin.expect(http.MethodPatch, "/api/v1/admin/org", map[string]any{"name": "Ville de Test"}, http.StatusOK, &got)
			admin.fails(http.MethodPatch, "/api/v1/admin/org", map[string]any{"numcli": "006270", "saisie": "W"}, nil, http.StatusForbidden, "password-required")
			admin.fails(http.MethodPatch, "/api/v1/admin/org", map[string]any{"numcli": "006270", "saisie": "W", "current_password": "pas le bon"}, nil, http.StatusBadRequest, "wrong-password")
			p := admin.fails(http.MethodPatch, "/api/v1/admin/org", map[string]any{"numcli": "6270", "saisie": "P", "current_password": pw}, nil, http.StatusBadRequest, "invalid-request")
			if len(p.Errors) != 2 {
				t.Errorf("want errors on numcli and saisie: %+v", p.Errors)
			}
			admin.expect(http.MethodPatch, "/api/v1/admin/org", map[string]any{"numcli": "006270", "saisie": "W", "current_password": pw}, http.StatusOK, &got)
			if got.Numcli != "006270" || got.Saisie != "W" || got.Name != "Ville de Test" {
				t.Fatalf("after patch: %+v", got)
			}
			// Sending the same values again changes nothing and needs no password.
			admin.expect(http.MethodPatch, "/api/v1/admin/org", map[string]any{"numcli": "006270", "saisie": "W", "address": "Place de la Mairie"}, http.StatusOK, &got)
			if env == "production" {
				admin.fails(http.MethodPatch, "/api/v1/admin/org", map[string]any{"saisie": "T", "current_password": pw}, nil, http.StatusConflict, "test-mode-in-production")
				admin.expect(http.MethodPatch, "/api/v1/admin/org", map[string]any{"saisie": "X", "current_password": pw}, http.StatusOK, &got)
			} else {
				admin.expect(http.MethodPatch, "/api/v1/admin/org", map[string]any{"saisie": "T", "current_password": pw}, http.StatusOK, &got)
			}
			agent.fails(http.MethodPatch, "/api/v1/admin/org", map[string]any{"saisie": "W"}, nil, http.StatusForbidden, "forbidden")
			if n := e.count(`SELECT count(*) FROM audit_log WHERE action = 'org.payfip_change'
				AND before->>'saisie' = 'T' AND after->>'saisie' = 'W' AND after->>'numcli' = '006270'`); n != 1 {
				t.Errorf("%d audit rows of the switch to W, want 1", n)
			}
			if n := e.count(`SELECT count(*) FROM audit_log WHERE action = 'org.payfip_change'`); n != 2 {
				t.Errorf("%d PayFiP changes audited, want 2", n)
			}
			other := e.session(e.newOrg("autre@ville.test"), "admin", nil)
			other.expect(http.MethodGet, "/api/v1/admin/org", nil, http.StatusOK, &got)
			if got.Numcli == "006270" {
				t.Error("another org sees this org's settings")
			}
		})
	}
}

// The audit log names the children and services its entries refer to: a
// reservation booked by the desk (its record holds child_id and service_id) and
// cancelled (its record holds neither: they come from the reservation). A child,
// service, reservation or day of another org is never named, even when an
// entry of this org holds its identifier; a value that is not an identifier
// names nothing.
func TestAuditNamesChildrenAndServices(t *testing.T) {
	e := newBookingEnv(t, false)
	fam, child, _ := e.family(e.org, 1400)
	agent, admin := e.login(e.org, "agent", nil), e.login(e.org, "admin", nil)
	var booked struct {
		Reservations []reservationDoc `json:"reservations"`
	}
	agent.expect(http.MethodPost, urlf("/api/v1/admin/families/%s/reservations", fam.ID),
		map[string]any{"items": []map[string]any{{"child_id": child, "service_id": e.svc, "date": ymd(e.day(12))}}}, http.StatusCreated, &booked)
	res := booked.Reservations[0].ID
	agent.expect(http.MethodPost, urlf("/api/v1/admin/reservations/%s/cancel", res), map[string]any{"reason": "malade"}, http.StatusOK, nil)

	exec := func(sql string, args ...any) {
		_, err := e.pool.Exec(e.ctx, sql, args...)
		e.must(err)
	}
	// Another org's child, service, reservation and day.
	org2 := e.newOrg()
	svc2 := e.newService(org2, "garderie")
	exec(`UPDATE services SET name = 'Garderie de l''autre ville' WHERE id = $1`, svc2)
	fam2, child2, _ := e.family(org2, 1400)
	exec(`UPDATE members SET first_name = 'Zoé', last_name = 'Ailleurs' WHERE id = $1`, child2)
	var booked2 struct {
		Reservations []reservationDoc `json:"reservations"`
	}
	e.login(org2, "agent", nil).expect(http.MethodPost, urlf("/api/v1/admin/families/%s/reservations", fam2.ID),
		map[string]any{"items": []map[string]any{{"child_id": child2, "service_id": svc2, "date": ymd(e.day(12))}}}, http.StatusCreated, &booked2)
	var day2 uuid.UUID
	e.must(e.pool.QueryRow(e.ctx, `SELECT id FROM service_days WHERE service_id = $1 AND day = $2`, svc2, e.day(12)).Scan(&day2))
	// Entries of this org that hold the other org's identifiers (as a bug or a
	// forged record would), and one whose child_id is not an identifier.
	for _, x := range []struct{ entity, id, after string }{
		{"attendance", uuid.NewString(), fmt.Sprintf(`{"child_id": %q, "service_id": %q}`, child2, svc2)},
		{"reservation", booked2.Reservations[0].ID.String(), `{"status": "cancelled"}`},
		{"service_day", day2.String(), `{"order": []}`},
		{"service", svc2.String(), `{"name": "x"}`},
		{"attendance", uuid.NewString(), `{"child_id": "pas-un-identifiant", "service_id": 12}`},
	} {
		exec(`INSERT INTO audit_log (org_id, action, entity, entity_id, after) VALUES ($1, 'test.foreign', $2, $3, $4)`,
			e.org, x.entity, x.id, x.after)
	}

	type named struct {
		Action   string `json:"action"`
		Entity   string `json:"entity"`
		Children []struct {
			ID        uuid.UUID `json:"id"`
			FirstName string    `json:"first_name"`
			LastName  string    `json:"last_name"`
		} `json:"children"`
		Services []struct {
			ID   uuid.UUID `json:"id"`
			Name string    `json:"name"`
		} `json:"services"`
	}
	var page struct {
		Items []named `json:"items"`
	}
	admin.expect(http.MethodGet, "/api/v1/admin/audit", nil, http.StatusOK, &page)
	seen := map[string]int{}
	for _, it := range page.Items {
		seen[it.Action]++
		switch it.Action {
		case "reservation.book_on_behalf", "reservation.cancel_on_behalf":
			if len(it.Children) != 1 || it.Children[0].ID != child || it.Children[0].FirstName != "Léa" || it.Children[0].LastName != "Martin" {
				t.Errorf("%s names the children %+v", it.Action, it.Children)
			}
			if len(it.Services) != 1 || it.Services[0].ID != e.svc || it.Services[0].Name != "Restauration scolaire" {
				t.Errorf("%s names the services %+v", it.Action, it.Services)
			}
		case "test.foreign":
			if it.Children == nil || it.Services == nil || len(it.Children)+len(it.Services) != 0 {
				t.Errorf("an entry of %s holding another org's identifiers names %+v %+v", it.Entity, it.Children, it.Services)
			}
		}
	}
	if seen["reservation.book_on_behalf"] != 1 || seen["reservation.cancel_on_behalf"] != 1 || seen["test.foreign"] != 5 {
		t.Errorf("entries %v", seen)
	}
	// The other org's own log names them (the lookup is scoped, not broken).
	e.login(org2, "admin", nil).expect(http.MethodGet, "/api/v1/admin/audit?entity=reservation", nil, http.StatusOK, &page)
	if len(page.Items) != 1 || len(page.Items[0].Children) != 1 || page.Items[0].Children[0].FirstName != "Zoé" ||
		len(page.Items[0].Services) != 1 || page.Items[0].Services[0].Name != "Garderie de l'autre ville" {
		t.Errorf("the other org's log: %+v", page.Items)
	}
}
