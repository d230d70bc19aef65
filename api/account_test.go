package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/config"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/password"
)

const goodPassword = "cheval correct agrafe"

// loginAttempt is one POST /auth/login from the given address (X-Forwarded-For).
func loginAttempt(e *accountEnv, base, login, pw, addr string) response {
	e.t.Helper()
	h := http.Header{}
	if addr != "" {
		h.Set("X-Forwarded-For", addr)
	}
	c := &peer{t: e.t, base: base}
	return c.send(http.MethodPost, "/api/v1/auth/login", map[string]string{"login": login, "password": pw}, h)
}

func retryAfter(t *testing.T, r response) time.Duration {
	t.Helper()
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429: %s", r.status, r.body)
	}
	if p := r.problem(t); p.Type != "https://enfance.fr/problems/too-many-attempts" || !strings.Contains(p.Detail, "Réessayez") {
		t.Fatalf("429 answer %s", r.body)
	}
	n, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || n <= 0 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	return time.Duration(n) * time.Second
}

// A wrong password and an unknown login get the same answer and the same
// slowing down: 3 free failures, then 1 s, 2 s, 4 s … up to LOGIN_MAX_WAIT (5 min),
// and never a lock: after any number of failures, waiting is enough for the right
// password to work. Throttling is in PostgreSQL, so a second API replica agrees.
func TestLoginThrottlingPerLogin(t *testing.T) {
	e := newAccountEnv(t, nil)
	org := e.newOrg("")
	fam := e.newFamily(org, "Martin")
	e.newUser(org, "family", &fam, "martin@famille.test", goodPassword)
	replica := e.another()

	for _, login := range []string{"martin@famille.test", "personne@nulle.part"} {
		var waits []time.Duration
		for i := 1; i <= 14; i++ {
			base := e.base
			if i%2 == 0 {
				base = replica
			}
			r := loginAttempt(e, base, login, "mauvais mot de passe", "")
			if r.status != http.StatusUnauthorized {
				t.Fatalf("%s attempt %d: status %d: %s", login, i, r.status, r.body)
			}
			if p := r.problem(t); p.Type != "https://enfance.fr/problems/invalid-credentials" || p.Title != "Identifiant ou mot de passe incorrect" {
				t.Fatalf("%s: %s", login, r.body)
			}
			if i <= 3 {
				continue
			}
			// Slowed down, on either replica, even with the right password.
			d := retryAfter(t, loginAttempt(e, replica, login, goodPassword, ""))
			waits = append(waits, d)
			e.clock.Advance(d - time.Second)
			retryAfter(t, loginAttempt(e, e.base, login, goodPassword, ""))
			e.clock.Advance(time.Second)
		}
		want := []time.Duration{1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300}
		if len(waits) != len(want) {
			t.Fatalf("%s: waits %v, want %v seconds", login, waits, want)
		}
		for i := range want {
			if waits[i] != want[i]*time.Second {
				t.Fatalf("%s: waits %v, want %v seconds", login, waits, want)
			}
		}
		r := loginAttempt(e, e.base, login, goodPassword, "")
		if login == "martin@famille.test" {
			if r.status != http.StatusOK {
				t.Fatalf("after 14 failures and the wait: %d %s", r.status, r.body)
			}
			// A success starts the login afresh.
			for i := 0; i < 3; i++ {
				if r := loginAttempt(e, e.base, login, "faux", ""); r.status != http.StatusUnauthorized {
					t.Fatalf("after a success, failure %d: %d", i+1, r.status)
				}
			}
		} else if r.status != http.StatusUnauthorized {
			t.Fatalf("unknown login after the wait: %d %s", r.status, r.body)
		}
	}
	// Failures are forgiven over time (one every 15 minutes): an hour later, the
	// 3 failures above count as none.
	e.clock.Advance(time.Hour)
	for i := range 4 {
		if r := loginAttempt(e, e.base, "martin@famille.test", "faux", ""); r.status != http.StatusUnauthorized {
			t.Fatalf("an hour later, failure %d: %d", i+1, r.status)
		}
	}
	retryAfter(t, loginAttempt(e, e.base, "martin@famille.test", goodPassword, ""))
	e.noSecretLogged(goodPassword, "mauvais mot de passe")
}

// A burst of parallel guesses cannot slip past the count: each attempt is counted
// before its password is checked, under the row's lock.
func TestLoginThrottlingHoldsUnderBurst(t *testing.T) {
	e := newAccountEnv(t, nil)
	org := e.newOrg("")
	fam := e.newFamily(org, "Martin")
	e.newUser(org, "family", &fam, "martin@famille.test", goodPassword)
	var wg sync.WaitGroup
	statuses := make(chan int, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- loginAttempt(e, e.base, "martin@famille.test", "devine", "").status
		}()
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	// 3 free failures, the 4th is checked and sets the first wait; the clock stands still.
	if counts[http.StatusUnauthorized] != 4 || counts[http.StatusTooManyRequests] != 16 {
		t.Fatalf("answers %v, want 4 × 401 and 16 × 429", counts)
	}
}

// An address guessing at many logins is slowed down too, past
// LOGIN_ADDRESS_FAILURES_PER_HOUR; an IPv6 client counts by its /64, so rotating
// its addresses gains nothing. X-Forwarded-For counts only from a configured proxy,
// so a client cannot pick its own address.
func TestLoginThrottlingPerAddress(t *testing.T) {
	limit := func(c *config.Config) { c.Login.AddressFailuresPerHour = 20 }
	behindProxy := newAccountEnv(t, func(c *config.Config) { limit(c); c.TrustedProxies = []string{"127.0.0.1"} })
	for _, a := range []struct{ guesser, other, neighbour string }{
		{"203.0.113.7", "198.51.100.1", "203.0.113.8"},
		{"2001:db8:1:2::1", "2001:db8:9:9::1", "2001:db8:1:3::1"},
	} {
		for i := range 21 {
			addr := a.guesser
			if strings.Contains(addr, ":") {
				addr = "2001:db8:1:2::" + strconv.FormatInt(int64(i+1), 16) // a new /128 each time
			}
			if r := loginAttempt(behindProxy, behindProxy.base, "inconnu"+strconv.Itoa(i)+"@test", "devine", addr); r.status != http.StatusUnauthorized {
				t.Fatalf("%s attempt %d: %d %s", addr, i+1, r.status, r.body)
			}
		}
		retryAfter(t, loginAttempt(behindProxy, behindProxy.base, "nouveau@test", "devine", a.guesser))
		for _, addr := range []string{a.other, a.neighbour} {
			if r := loginAttempt(behindProxy, behindProxy.base, "nouveau@test", "devine", addr); r.status != http.StatusUnauthorized {
				t.Fatalf("%s is slowed down too: %d", addr, r.status)
			}
		}
	}

	direct := newAccountEnv(t, limit)
	for i := range 21 {
		forged := "198.51.100." + strconv.Itoa(i+1)
		if r := loginAttempt(direct, direct.base, "inconnu"+strconv.Itoa(i)+"@test", "devine", forged); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i+1, r.status)
		}
	}
	retryAfter(t, loginAttempt(direct, direct.base, "nouveau@test", "devine", "192.0.2.99"))
}

// A shared address (a school's NAT) that fails LOGIN_ADDRESS_FAILURES_PER_HOUR
// times every hour, hour after hour, is never slowed down: what counts is the rate.
func TestLoginThrottlingSparesASharedAddress(t *testing.T) {
	e := newAccountEnv(t, func(c *config.Config) { c.Login.AddressFailuresPerHour = 12; c.TrustedProxies = []string{"127.0.0.1"} })
	for i := range 3 * 12 {
		if r := loginAttempt(e, e.base, "parent"+strconv.Itoa(i)+"@test", "faute de frappe", "192.0.2.50"); r.status != http.StatusUnauthorized {
			t.Fatalf("hour %d, failure %d: %d %s", i/12+1, i%12+1, r.status, r.body)
		}
		e.clock.Advance(5 * time.Minute)
	}
}

// Cookie sessions: HttpOnly, SameSite, Secure outside dev, and every write needs
// the session's CSRF token in X-CSRF-Token; a Bearer token needs none.
func TestCookieSessionsNeedCSRF(t *testing.T) {
	for _, env := range []string{"dev", "production"} {
		e := newAccountEnv(t, func(c *config.Config) { c.Env = env })
		org := e.newOrg("")
		fam := e.newFamily(org, "Martin")
		e.newUser(org, "family", &fam, "martin@famille.test", goodPassword)
		r := loginAttempt(e, e.base, "martin@famille.test", goodPassword, "")
		if r.status != http.StatusOK {
			t.Fatalf("login: %d %s", r.status, r.body)
		}
		var out struct {
			Token     string `json:"token"`
			CSRFToken string `json:"csrf_token"`
			Role      string `json:"role"`
		}
		decode(t, r.body, &out)
		resp := &http.Response{Header: r.header}
		var cookie *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == "enfance_session" {
				cookie = ck
			}
		}
		if cookie == nil || cookie.Value != out.Token || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure != (env != "dev") {
			t.Fatalf("%s: session cookie %+v", env, cookie)
		}
		if out.Role != "family" || out.CSRFToken == "" {
			t.Fatalf("login answer %s", r.body)
		}
		withCookie := &peer{t: t, base: e.base, header: http.Header{"Cookie": {cookie.Name + "=" + cookie.Value}}}
		withCookie.expect(http.MethodGet, "/api/v1/me", nil, http.StatusOK, nil)
		withCookie.fails(http.MethodPost, "/api/v1/auth/logout", nil, nil, http.StatusForbidden, "csrf")
		withCookie.fails(http.MethodPut, "/api/v1/me/password", map[string]string{"current_password": goodPassword, "new_password": "une autre phrase longue"},
			http.Header{"X-Csrf-Token": {"faux"}}, http.StatusForbidden, "csrf")
		withCookie.fails(http.MethodPatch, "/api/v1/family", map[string]string{"phone": "0611223344"}, nil, http.StatusForbidden, "csrf")
		if n := e.count(`SELECT count(*) FROM families WHERE phone = '0611223344'`); n != 0 {
			t.Fatal("a write without CSRF token changed the family")
		}
		withCookie.header.Set("X-CSRF-Token", out.CSRFToken)
		withCookie.expect(http.MethodPatch, "/api/v1/family", map[string]string{"phone": "0611223344"}, http.StatusOK, nil)
		withCookie.expect(http.MethodPost, "/api/v1/auth/logout", nil, http.StatusNoContent, nil)
		withCookie.fails(http.MethodGet, "/api/v1/me", nil, nil, http.StatusUnauthorized, "unauthorized")
		// A Bearer session writes without the CSRF header.
		bearer := e.login("martin@famille.test", goodPassword)
		bearer.expect(http.MethodPost, "/api/v1/auth/logout", nil, http.StatusNoContent, nil)
		bearer.fails(http.MethodGet, "/api/v1/me", nil, nil, http.StatusUnauthorized, "unauthorized")
	}
}

// Forgotten password: always 202; one single-use link valid one hour, e-mailed;
// the new password obeys the policy; the account's sessions end.
func TestForgottenPassword(t *testing.T) {
	e := newAccountEnv(t, nil)
	org := e.newOrg("")
	fam := e.newFamily(org, "Martin")
	user := e.newUser(org, "family", &fam, "Martin@Famille.test", goodPassword)
	old := e.login("martin@famille.test", goodPassword)
	anon := e.anon()

	unknown := anon.expect(http.MethodPost, "/api/v1/auth/password/forgot", map[string]string{"login": "personne@nulle.part"}, http.StatusAccepted, nil)
	e.noMail()
	known := anon.expect(http.MethodPost, "/api/v1/auth/password/forgot", map[string]string{"login": "martin@famille.test"}, http.StatusAccepted, nil)
	if string(unknown.body) != string(known.body) {
		t.Fatalf("answers differ: %s / %s", unknown.body, known.body)
	}
	m := e.mail.next(t)
	if len(m.To) != 1 || m.To[0] != "Martin@Famille.test" || !strings.Contains(m.Subject, "mot de passe") {
		t.Fatalf("mail %+v", m)
	}
	token := tokenIn(t, m.Text, "reset")
	if strings.Contains(m.Text, goodPassword) {
		t.Fatal("a password was e-mailed")
	}
	// A second request at once sends no second mail.
	anon.expect(http.MethodPost, "/api/v1/auth/password/forgot", map[string]string{"login": "martin@famille.test"}, http.StatusAccepted, nil)
	e.noMail()

	for _, weak := range []string{"court", "motdepasse2025", "martin-famille-2025", "azertyuiop"} {
		p := anon.fails(http.MethodPost, "/api/v1/auth/password/reset", map[string]string{"token": token, "new_password": weak}, nil, http.StatusBadRequest, "weak-password")
		if len(p.Errors) != 1 || p.Errors[0].Field != "new_password" || p.Errors[0].Reason == "" {
			t.Fatalf("%q: %+v", weak, p)
		}
	}
	const newPassword = "la pluie sur le toit"
	anon.expect(http.MethodPost, "/api/v1/auth/password/reset", map[string]string{"token": token, "new_password": newPassword}, http.StatusNoContent, nil)
	old.fails(http.MethodGet, "/api/v1/me", nil, nil, http.StatusUnauthorized, "unauthorized")
	if r := loginAttempt(e, e.base, "martin@famille.test", goodPassword, ""); r.status != http.StatusUnauthorized {
		t.Fatalf("old password still works: %d", r.status)
	}
	e.login("martin@famille.test", newPassword)
	anon.fails(http.MethodPost, "/api/v1/auth/password/reset", map[string]string{"token": token, "new_password": "encore une autre phrase"}, nil, http.StatusBadRequest, "invalid-token")
	anon.fails(http.MethodPost, "/api/v1/auth/password/reset", map[string]string{"token": "n'importe quoi", "new_password": "encore une autre phrase"}, nil, http.StatusBadRequest, "invalid-token")

	// A link is good for one hour.
	e.clock.Advance(6 * time.Minute)
	anon.expect(http.MethodPost, "/api/v1/auth/password/forgot", map[string]string{"login": "martin@famille.test"}, http.StatusAccepted, nil)
	late := tokenIn(t, e.mail.next(t).Text, "reset")
	e.clock.Advance(61 * time.Minute)
	anon.fails(http.MethodPost, "/api/v1/auth/password/reset", map[string]string{"token": late, "new_password": "encore une autre phrase"}, nil, http.StatusBadRequest, "invalid-token")

	if n := e.count(`SELECT count(*) FROM audit_log WHERE actor_id = $1 AND action = 'user.password_reset' AND entity_id = $2`, user, user.String()); n != 1 {
		t.Fatalf("audit rows %d", n)
	}
	if n := e.count(`SELECT count(*) FROM password_reset_tokens WHERE token_hash = sha256(convert_to($1, 'UTF8'))`, token); n != 1 {
		t.Fatal("the token is not stored as its SHA-256")
	}
	e.api.Wait() // a mail is marked sent after it left
	if n := e.count(`SELECT count(*) FROM outbound_emails WHERE to_address = 'Martin@Famille.test' AND sent_at IS NOT NULL`); n != 2 {
		t.Fatalf("outbound_emails records %d sent mails, want 2", n)
	}
	e.noSecretLogged(token, late, newPassword, goodPassword)
}

// Changing one's password needs the current one and ends the other sessions.
func TestChangePassword(t *testing.T) {
	e := newAccountEnv(t, nil)
	org := e.newOrg("")
	fam := e.newFamily(org, "Martin")
	e.newUser(org, "family", &fam, "martin@famille.test", goodPassword)
	here, there := e.login("martin@famille.test", goodPassword), e.login("martin@famille.test", goodPassword)

	p := here.fails(http.MethodPut, "/api/v1/me/password", map[string]string{"current_password": "faux mais long", "new_password": "la pluie sur le toit"}, nil, http.StatusBadRequest, "wrong-password")
	if p.Errors[0].Field != "current_password" {
		t.Fatalf("%+v", p)
	}
	here.fails(http.MethodPut, "/api/v1/me/password", map[string]string{"current_password": goodPassword, "new_password": "1234567890"}, nil, http.StatusBadRequest, "weak-password")
	here.expect(http.MethodPut, "/api/v1/me/password", map[string]string{"current_password": goodPassword, "new_password": "la pluie sur le toit"}, http.StatusNoContent, nil)
	here.expect(http.MethodGet, "/api/v1/me", nil, http.StatusOK, nil)
	there.fails(http.MethodGet, "/api/v1/me", nil, nil, http.StatusUnauthorized, "unauthorized")
	e.login("martin@famille.test", "la pluie sur le toit")

	// Guessing the current password through a stolen session is throttled like a login.
	for i := 0; i < 4; i++ {
		here.fails(http.MethodPut, "/api/v1/me/password", map[string]string{"current_password": "devine " + strconv.Itoa(i), "new_password": "encore une phrase"}, nil, http.StatusBadRequest, "wrong-password")
	}
	here.fails(http.MethodPut, "/api/v1/me/password", map[string]string{"current_password": "la pluie sur le toit", "new_password": "encore une phrase"}, nil, http.StatusTooManyRequests, "too-many-attempts")
}

// Accounts made by staff get a set-password link by e-mail, never a password.
func TestStaffCreatedAccountsSetTheirPassword(t *testing.T) {
	e := newAccountEnv(t, nil)
	org := e.newOrg("accueil@ville.test")
	agent := e.session(org, "agent", nil)
	var fam struct {
		ID       uuid.UUID `json:"id"`
		Email    string    `json:"email"`
		Phone    string    `json:"phone"`
		QF       int       `json:"qf"`
		Accounts []struct {
			Login       string `json:"login"`
			PasswordSet bool   `json:"password_set"`
		} `json:"accounts"`
		Members []struct {
			Kind string `json:"kind"`
		} `json:"members"`
	}
	agent.expect(http.MethodPost, "/api/v1/admin/families", map[string]any{
		"name": "Dupont", "email": "dupont@famille.test", "phone": "06 11 22 33 44", "qf": 820, "account_login": "dupont@famille.test",
		"members": []map[string]any{
			{"kind": "adult", "first_name": "Anne", "last_name": "Dupont"},
			{"kind": "child", "first_name": "Paul", "last_name": "Dupont", "birth_date": "2017-05-04", "school": "École Jaurès", "class_name": "CE2"},
		},
	}, http.StatusCreated, &fam)
	if len(fam.Accounts) != 1 || fam.Accounts[0].PasswordSet || len(fam.Members) != 2 ||
		fam.Email != "dupont@famille.test" || fam.Phone != "06 11 22 33 44" || fam.QF != 820 {
		t.Fatalf("created %+v", fam)
	}
	m := e.mail.next(t)
	if m.To[0] != "dupont@famille.test" {
		t.Fatalf("mail to %v", m.To)
	}
	token := tokenIn(t, m.Text, "set-password")
	if r := loginAttempt(e, e.base, "dupont@famille.test", "", ""); r.status != http.StatusBadRequest {
		t.Fatalf("empty password: %d", r.status)
	}
	e.anon().expect(http.MethodPost, "/api/v1/auth/password/reset", map[string]string{"token": token, "new_password": "trois petits chats"}, http.StatusNoContent, nil)
	fc := e.login("dupont@famille.test", "trois petits chats")
	var members []map[string]any
	fc.expect(http.MethodGet, "/api/v1/family/members", nil, http.StatusOK, &members)
	if len(members) != 2 {
		t.Fatalf("members %v", members)
	}
	// Finance edits the QF (audited) and staff find the family again.
	finance := e.session(org, "finance", nil)
	finance.expect(http.MethodPatch, "/api/v1/admin/families/"+fam.ID.String(), map[string]any{"qf": 1300, "city": "Lyon"}, http.StatusOK, &fam)
	if fam.QF != 1300 {
		t.Fatalf("QF after patch %d", fam.QF)
	}
	var before, after map[string]any
	e.must(e.pool.QueryRow(e.ctx, `SELECT before, after FROM audit_log WHERE action = 'family.qf_change' AND entity_id = $1`, fam.ID.String()).Scan(&before, &after))
	if before["qf"].(float64) != 820 || after["qf"].(float64) != 1300 || after["city"] != "Lyon" {
		t.Fatalf("audit %v → %v", before, after)
	}
	var found struct {
		Items []struct {
			ID uuid.UUID `json:"id"`
		} `json:"items"`
	}
	for _, q := range []string{"dupo", "Paul", "06%2011", "personne"} {
		agent.expect(http.MethodGet, "/api/v1/admin/families?q="+q, nil, http.StatusOK, &found)
		if (len(found.Items) == 1 && found.Items[0].ID == fam.ID) != (q != "personne") {
			t.Fatalf("search %q: %+v", q, found.Items)
		}
	}
	// A second account for the family.
	agent.expect(http.MethodPost, "/api/v1/admin/families/"+fam.ID.String()+"/accounts", map[string]string{"login": "marc.dupont@famille.test"}, http.StatusCreated, nil)
	late := tokenIn(t, e.mail.next(t).Text, "set-password")
	agent.fails(http.MethodPost, "/api/v1/admin/families/"+fam.ID.String()+"/accounts", map[string]string{"login": "MARC.dupont@famille.test"}, nil, http.StatusConflict, "login-taken")

	// Staff accounts: admins only.
	agent.fails(http.MethodPost, "/api/v1/admin/users", map[string]string{"login": "n@ville.test", "role": "agent"}, nil, http.StatusForbidden, "forbidden")
	admin := e.session(org, "admin", nil)
	chef := e.newUser(org, "admin", nil, "chef@ville.test", "")
	var u struct {
		ID   uuid.UUID `json:"id"`
		Role string    `json:"role"`
	}
	admin.expect(http.MethodPost, "/api/v1/admin/users", map[string]string{"login": "regie@ville.test", "role": "finance", "display_name": "Régie"}, http.StatusCreated, &u)
	staffToken := tokenIn(t, e.mail.next(t).Text, "set-password")
	e.anon().expect(http.MethodPost, "/api/v1/auth/password/reset", map[string]string{"token": staffToken, "new_password": "la régie du mercredi"}, http.StatusNoContent, nil)
	regie := e.login("regie@ville.test", "la régie du mercredi")
	regie.expect(http.MethodGet, "/api/v1/admin/families", nil, http.StatusOK, nil)
	admin.expect(http.MethodPatch, "/api/v1/admin/users/"+u.ID.String(), map[string]any{"disabled": true}, http.StatusOK, nil)
	regie.fails(http.MethodGet, "/api/v1/admin/families", nil, nil, http.StatusUnauthorized, "unauthorized")
	// The org keeps an admin.
	var me struct {
		UserID uuid.UUID `json:"user_id"`
	}
	admin.expect(http.MethodGet, "/api/v1/me", nil, http.StatusOK, &me)
	admin.expect(http.MethodPatch, "/api/v1/admin/users/"+chef.String(), map[string]any{"disabled": true}, http.StatusOK, nil)
	admin.fails(http.MethodPatch, "/api/v1/admin/users/"+me.UserID.String(), map[string]any{"role": "agent"}, nil, http.StatusConflict, "last-admin")
	if n := e.count(`SELECT count(*) FROM audit_log WHERE org_id = $1 AND action IN ('family.create', 'family.qf_change', 'user.create', 'user.update')`, org); n != 6 {
		t.Fatalf("audit rows %d, want 6", n)
	}
	// A set-password link lasts 72 hours (sessions would fall idle before: last).
	e.clock.Advance(71 * time.Hour)
	e.anon().expect(http.MethodPost, "/api/v1/auth/password/reset", map[string]string{"token": late, "new_password": "quatre petits chats"}, http.StatusNoContent, nil)
	e.noSecretLogged(token, late, staffToken, "trois petits chats")
}

// Opening day: many families log in at once from one address (a town hall's
// network, a carrier's NAT). Good logins never count against the address.
func TestLoginRushFromOneAddress(t *testing.T) {
	e := newAccountEnv(t, nil)
	org := e.newOrg("")
	hash, err := password.Hash(e.ctx, goodPassword)
	e.must(err)
	const n = 40
	for i := range n {
		fam := e.newFamily(org, "Rush"+strconv.Itoa(i))
		e.must(e.q.InsertUser(e.ctx, db.InsertUserParams{ID: uuid.New(), OrgID: org, Login: "rush" + strconv.Itoa(i) + "@test", PasswordHash: hash, Role: "family", FamilyID: &fam}))
	}
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses <- loginAttempt(e, e.base, "rush"+strconv.Itoa(i)+"@test", goodPassword, "").status
		}()
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusOK {
			t.Fatalf("a good login in the rush got %d", s)
		}
	}
}

// "Forgot password" answers before it even looks the login up: a known and an
// unknown address get the same answer after the same work. Proven structurally:
// with the users table locked, both are answered at once; the link leaves once
// the lock is gone, for the known account only.
func TestForgotPasswordAnswersBeforeAnyLookup(t *testing.T) {
	e := newAccountEnv(t, nil)
	org := e.newOrg("")
	fam := e.newFamily(org, "Martin")
	e.newUser(org, "family", &fam, "martin@famille.test", goodPassword)

	tx, err := e.pool.Begin(e.ctx)
	e.must(err)
	_, err = tx.Exec(e.ctx, `LOCK TABLE users, password_reset_tokens IN ACCESS EXCLUSIVE MODE`)
	e.must(err)
	var bodies []string
	for _, login := range []string{"martin@famille.test", "personne@nulle.part"} {
		r := e.anon().send(http.MethodPost, "/api/v1/auth/password/forgot", map[string]string{"login": login}, nil)
		if r.status != http.StatusAccepted {
			t.Fatalf("%s: %d %s", login, r.status, r.body)
		}
		bodies = append(bodies, string(r.body))
	}
	if bodies[0] != bodies[1] {
		t.Fatalf("answers differ: %s / %s", bodies[0], bodies[1])
	}
	e.must(tx.Rollback(e.ctx))
	if m := e.mail.next(t); len(m.To) != 1 || m.To[0] != "martin@famille.test" {
		t.Fatalf("mail %+v", m)
	}
	e.noMail()
}

// Twenty "forgot password" requests at once for one account send one e-mail.
func TestForgotPasswordOneMailUnderParallelRequests(t *testing.T) {
	e := newAccountEnv(t, nil)
	org := e.newOrg("")
	fam := e.newFamily(org, "Martin")
	e.newUser(org, "family", &fam, "martin@famille.test", goodPassword)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r := e.anon().send(http.MethodPost, "/api/v1/auth/password/forgot", map[string]string{"login": "martin@famille.test"}, nil); r.status != http.StatusAccepted {
				t.Errorf("%d %s", r.status, r.body)
			}
		}()
	}
	wg.Wait()
	e.mail.next(t)
	e.noMail()
	if n := e.count(`SELECT count(*) FROM password_reset_tokens`); n != 1 {
		t.Fatalf("%d reset links stored", n)
	}
	// After PASSWORD_RESET_MAIL_EVERY, one more.
	e.clock.Advance(e.cfg.ResetMailEvery)
	e.anon().expect(http.MethodPost, "/api/v1/auth/password/forgot", map[string]string{"login": "martin@famille.test"}, http.StatusAccepted, nil)
	e.mail.next(t)
}
