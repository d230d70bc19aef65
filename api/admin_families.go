package api

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/db"
)

// Back office: an org's families. Every query takes the caller's org, so another
// org's ids answer 404.

type familyListJSON struct {
	familyJSON
	CreditCents      int64 `json:"credit_cents"`
	OutstandingCents int64 `json:"outstanding_cents"`
}

type familyCursor struct {
	Name string    `json:"n"`
	ID   uuid.UUID `json:"i"`
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// phoneDigits is what a phone search looks for: the digits of q when q looks like
// a phone number (at least 4 digits, nothing but digits, spaces, dots, dashes and
// "+"), whatever spacing the family typed its number with; "" otherwise.
func phoneDigits(q string) string {
	var b strings.Builder
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '.' || r == '-' || r == '+':
		default:
			return ""
		}
	}
	if b.Len() < 4 {
		return ""
	}
	return b.String()
}

// listFamilies: ?q= searches the family's name, e-mail, phones and logins, its
// members' names and its children's schools; by name, paginated.
func (s *Server) listFamilies(c *gin.Context) {
	who := callerOf(c)
	limit := queryLimit(c, 50, 200)
	q := truncate(strings.TrimSpace(c.Query("q")), 200)
	p := db.ListOrgFamiliesParams{OrgID: who.OrgID, Q: likeEscaper.Replace(q), Digits: phoneDigits(q), Lim: int32(limit + 1)}
	if v := c.Query("cursor"); v != "" {
		var cur familyCursor
		raw, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || json.Unmarshal(raw, &cur) != nil {
			fail(c, s.log, badRequest("Curseur invalide.", FieldError{Field: "cursor", Message: "curseur invalide"}))
			return
		}
		p.Paged, p.AfterName, p.AfterID = true, cur.Name, cur.ID
	}
	rows, err := s.q.ListOrgFamilies(c, p)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := page[familyListJSON]{Items: []familyListJSON{}}
	for i, r := range rows {
		if i == limit {
			b, _ := json.Marshal(familyCursor{Name: rows[i-1].Name, ID: rows[i-1].ID})
			next := base64.RawURLEncoding.EncodeToString(b)
			out.NextCursor = &next
			break
		}
		out.Items = append(out.Items, familyListJSON{
			familyJSON: familyJSON{ID: r.ID, Name: r.Name, Email: r.Email, Phone: r.Phone, Phone2: r.Phone2,
				Address: r.Address, PostalCode: r.PostalCode, City: r.City, QF: r.Qf},
			CreditCents: r.CreditCents, OutstandingCents: max(r.OutstandingCents, 0),
		})
	}
	c.JSON(http.StatusOK, out)
}

type accountJSON struct {
	ID          uuid.UUID `json:"id"`
	Login       string    `json:"login"`
	Disabled    bool      `json:"disabled"`
	PasswordSet bool      `json:"password_set"`
	CreatedAt   time.Time `json:"created_at"`
}

type familyDetailJSON struct {
	familyJSON
	CreditCents       int64                  `json:"credit_cents"`
	OutstandingCents  int64                  `json:"outstanding_cents"`
	Members           []staffMemberJSON      `json:"members"`
	AuthorizedPersons []authorizedPersonJSON `json:"authorized_persons"`
	Accounts          []accountJSON          `json:"accounts"`
	CreatedAt         time.Time              `json:"created_at"`
	UpdatedAt         time.Time              `json:"updated_at"`
}

// staffMemberJSON is a member as staff see it: with what the day's list prints.
type staffMemberJSON struct {
	memberJSON
	Allergies string `json:"allergies"`
	Notes     string `json:"notes"`
}

func memberView(m db.Member) staffMemberJSON {
	mj := memberJSON{ID: m.ID, Kind: m.Kind, FirstName: m.FirstName, LastName: m.LastName, School: m.School, ClassName: m.ClassName}
	if m.BirthDate != nil {
		d := m.BirthDate.Format(time.DateOnly)
		mj.BirthDate = &d
	}
	return staffMemberJSON{memberJSON: mj, Allergies: m.Allergies, Notes: m.Notes}
}

// familyDetail reads one family of the org with everything staff see on its page.
func (s *Server) familyDetail(c *gin.Context, q *db.Queries, orgID, id uuid.UUID) (familyDetailJSON, error) {
	f, err := q.GetFamily(c, db.GetFamilyParams{OrgID: orgID, ID: id})
	if err != nil {
		return familyDetailJSON{}, notFoundOr(err)
	}
	bal, err := q.FamilyBalances(c, f.ID)
	if err != nil {
		return familyDetailJSON{}, err
	}
	members, err := q.ListMembers(c, db.ListMembersParams{OrgID: orgID, FamilyID: f.ID})
	if err != nil {
		return familyDetailJSON{}, err
	}
	persons, err := q.ListAuthorizedPersons(c, db.ListAuthorizedPersonsParams{OrgID: orgID, FamilyID: f.ID})
	if err != nil {
		return familyDetailJSON{}, err
	}
	users, err := q.ListFamilyUsers(c, db.ListFamilyUsersParams{OrgID: orgID, FamilyID: &f.ID})
	if err != nil {
		return familyDetailJSON{}, err
	}
	out := familyDetailJSON{
		familyJSON: familyView(f), CreditCents: bal.CreditCents, OutstandingCents: max(bal.OutstandingCents, 0),
		Members: []staffMemberJSON{}, AuthorizedPersons: []authorizedPersonJSON{}, Accounts: []accountJSON{},
		CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt,
	}
	for _, m := range members {
		out.Members = append(out.Members, memberView(m))
	}
	for _, p := range persons {
		out.AuthorizedPersons = append(out.AuthorizedPersons, authorizedPersonView(p))
	}
	for _, u := range users {
		out.Accounts = append(out.Accounts, accountJSON{ID: u.ID, Login: u.Login, Disabled: u.Disabled, PasswordSet: u.PasswordSet, CreatedAt: u.CreatedAt})
	}
	return out, nil
}

func (s *Server) getFamily(c *gin.Context) {
	who := callerOf(c)
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	out, err := s.familyDetail(c, s.q, who.OrgID, id)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// memberInput is a member as staff write it; on PATCH absent fields keep their value.
type memberInput struct {
	Kind      *string `json:"kind"`
	FirstName *string `json:"first_name"`
	LastName  *string `json:"last_name"`
	BirthDate *string `json:"birth_date"` // YYYY-MM-DD, "" to clear
	School    *string `json:"school"`
	ClassName *string `json:"class_name"`
	Allergies *string `json:"allergies"` // printed on the day's list
	Notes     *string `json:"notes"`     // idem: diet, PAI, who must not collect …
}

// apply validates in and writes it over m; prefix names the fields in errors.
func (in memberInput) apply(m *db.Member, prefix string) []FieldError {
	var errs []FieldError
	str := func(dst *string, v *string, field string, check func(string) string) {
		if v == nil {
			return
		}
		val := strings.TrimSpace(*v)
		if msg := check(val); msg != "" {
			errs = append(errs, FieldError{Field: prefix + field, Message: msg})
			return
		}
		*dst = val
	}
	str(&m.Kind, in.Kind, "kind", func(v string) string {
		if v != "adult" && v != "child" {
			return "adult ou child"
		}
		return ""
	})
	str(&m.FirstName, in.FirstName, "first_name", required(100))
	str(&m.LastName, in.LastName, "last_name", required(100))
	str(&m.School, in.School, "school", maxLen(100))
	str(&m.ClassName, in.ClassName, "class_name", maxLen(50))
	str(&m.Allergies, in.Allergies, "allergies", maxLen(500))
	str(&m.Notes, in.Notes, "notes", maxLen(1000))
	if in.BirthDate != nil {
		if *in.BirthDate == "" {
			m.BirthDate = nil
		} else if d, err := booking.ParseDay(*in.BirthDate); err != nil || d.Year() < 1900 {
			errs = append(errs, FieldError{Field: prefix + "birth_date", Message: "date attendue au format AAAA-MM-JJ"})
		} else {
			m.BirthDate = &d
		}
	}
	if m.Kind == "" {
		errs = append(errs, FieldError{Field: prefix + "kind", Message: "requis (adult ou child)"})
	}
	if m.FirstName == "" && in.FirstName == nil {
		errs = append(errs, FieldError{Field: prefix + "first_name", Message: "requis"})
	}
	if m.LastName == "" && in.LastName == nil {
		errs = append(errs, FieldError{Field: prefix + "last_name", Message: "requis"})
	}
	if m.Kind == "child" && m.BirthDate == nil {
		errs = append(errs, FieldError{Field: prefix + "birth_date", Message: "requise pour un enfant (âge des prestations)"})
	}
	return errs
}

type familyInput struct {
	Name *string `json:"name"`
	QF   *int32  `json:"qf"`
	contactPatch
	Members      []memberInput `json:"members"`       // creation only
	AccountLogin string        `json:"account_login"` // creation only: e-mail of a family account to create
}

func (in familyInput) apply(f *db.Family) []FieldError {
	errs := in.contactPatch.apply(f)
	if in.Name != nil {
		if msg := required(200)(strings.TrimSpace(*in.Name)); msg != "" {
			errs = append(errs, FieldError{Field: "name", Message: msg})
		} else {
			f.Name = strings.TrimSpace(*in.Name)
		}
	} else if f.Name == "" {
		errs = append(errs, FieldError{Field: "name", Message: "requis"})
	}
	if in.QF != nil {
		if *in.QF < 0 || *in.QF > 100000 {
			errs = append(errs, FieldError{Field: "qf", Message: "quotient familial entre 0 et 100000"})
		} else {
			f.Qf = *in.QF
		}
	}
	return errs
}

var errQFForbidden = &Problem{Type: problemBase + "qf-forbidden", Title: "Quotient familial réservé aux finances", Status: http.StatusForbidden,
	Detail: "Seul un régisseur ou un administrateur peut changer le quotient familial d'une famille : il fixe ses tarifs.",
	Errors: []FieldError{{Field: "qf", Message: "modifiable par le rôle finances ou administrateur"}}}

var errLoginTaken = problem(http.StatusConflict, "login-taken", "Identifiant déjà utilisé", "Un compte existe déjà avec cet identifiant (e-mail).")

// createUser adds an account without a password and e-mails it a set-password link
// once the transaction commits (the caller calls the returned func then).
func (s *Server) createUser(c *gin.Context, q *db.Queries, p db.CreateUserParams) (db.User, func(), error) {
	if msg := checkEmail(p.Login); msg != "" || p.Login == "" {
		return db.User{}, nil, badRequest("Identifiant invalide.", FieldError{Field: "login", Message: "adresse e-mail attendue"})
	}
	u, err := q.CreateUser(c, p)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return db.User{}, nil, errLoginTaken
	} else if err != nil {
		return db.User{}, nil, err
	}
	token, err := s.newPasswordToken(c, q, u.ID, "set")
	if err != nil {
		return db.User{}, nil, err
	}
	return u, func() { s.mailPasswordLink(u.OrgID, u.Login, token, "set") }, nil
}

type userAudit struct {
	ID          uuid.UUID  `json:"id"`
	Login       string     `json:"login"`
	Role        string     `json:"role"`
	FamilyID    *uuid.UUID `json:"family_id,omitempty"`
	DisplayName string     `json:"display_name"`
	Disabled    bool       `json:"disabled"`
}

func userView(u db.User) userAudit {
	return userAudit{ID: u.ID, Login: u.Login, Role: u.Role, FamilyID: u.FamilyID, DisplayName: u.DisplayName, Disabled: u.Disabled}
}

// createFamily creates a family with its members and, given account_login, its
// account, which gets a set-password link by e-mail.
func (s *Server) createFamily(c *gin.Context) {
	who := callerOf(c)
	var in familyInput
	if err := c.ShouldBindJSON(&in); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu."))
		return
	}
	f := db.Family{ID: uuid.New(), OrgID: who.OrgID}
	errs := in.apply(&f)
	members := make([]db.Member, len(in.Members))
	for i, m := range in.Members {
		members[i] = db.Member{ID: uuid.New(), OrgID: who.OrgID, FamilyID: f.ID}
		errs = append(errs, m.apply(&members[i], "members["+strconv.Itoa(i)+"].")...)
	}
	login := strings.TrimSpace(in.AccountLogin)
	if msg := checkEmail(login); msg != "" {
		errs = append(errs, FieldError{Field: "account_login", Message: msg})
	}
	if len(errs) > 0 {
		fail(c, s.log, badRequest("Fiche famille invalide.", errs...))
		return
	}
	var sendLink func()
	err := pgx.BeginFunc(c, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		created, err := q.CreateFamily(c, db.CreateFamilyParams{ID: f.ID, OrgID: f.OrgID, Name: f.Name, Email: f.Email, Phone: f.Phone,
			Phone2: f.Phone2, Address: f.Address, PostalCode: f.PostalCode, City: f.City, Qf: f.Qf})
		if err != nil {
			return err
		}
		after := gin.H{"family": familyView(created), "members": []staffMemberJSON{}}
		for _, m := range members {
			cm, err := q.CreateMember(c, db.CreateMemberParams{ID: m.ID, OrgID: m.OrgID, FamilyID: m.FamilyID, Kind: m.Kind,
				FirstName: m.FirstName, LastName: m.LastName, BirthDate: m.BirthDate, School: m.School, ClassName: m.ClassName,
				Allergies: m.Allergies, Notes: m.Notes})
			if err != nil {
				return err
			}
			after["members"] = append(after["members"].([]staffMemberJSON), memberView(cm))
		}
		if login != "" {
			u, send, err := s.createUser(c, q, db.CreateUserParams{ID: uuid.New(), OrgID: who.OrgID, Login: login, Role: roleFamily, FamilyID: &f.ID})
			if err != nil {
				if errors.Is(err, errLoginTaken) {
					p := *errLoginTaken
					p.Errors = []FieldError{{Field: "account_login", Message: "déjà utilisé"}}
					return &p
				}
				return err
			}
			sendLink = send
			after["account"] = userView(u)
		}
		return s.audit(c, q, who.OrgID, &who.UserID, "family.create", "family", f.ID.String(), nil, after)
	})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	if sendLink != nil {
		sendLink()
	}
	out, err := s.familyDetail(c, s.q, who.OrgID, f.ID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, out)
}

// patchStaffFamily edits a family's name, contact details and QF; audited.
func (s *Server) patchStaffFamily(c *gin.Context) {
	who := callerOf(c)
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	var in familyInput
	if err := c.ShouldBindJSON(&in); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu."))
		return
	}
	err = pgx.BeginFunc(c, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		before, err := q.LockFamily(c, db.LockFamilyParams{OrgID: who.OrgID, ID: id})
		if err != nil {
			return notFoundOr(err)
		}
		if in.Members != nil || in.AccountLogin != "" {
			return badRequest("Les membres et les comptes se modifient par leurs propres routes.",
				FieldError{Field: "members", Message: "non modifiable ici"})
		}
		f := before
		if errs := in.apply(&f); len(errs) > 0 {
			return badRequest("Fiche famille invalide.", errs...)
		}
		action := "family.update"
		if f.Qf != before.Qf {
			// The QF sets the family's prices: finance's decision, traced on its own.
			if !who.handlesMoney() {
				return errQFForbidden
			}
			action = "family.qf_change"
		}
		after, err := q.UpdateFamily(c, db.UpdateFamilyParams{OrgID: who.OrgID, ID: id, Name: f.Name, Email: f.Email, Phone: f.Phone,
			Phone2: f.Phone2, Address: f.Address, PostalCode: f.PostalCode, City: f.City, Qf: f.Qf})
		if err != nil {
			return err
		}
		return s.audit(c, q, who.OrgID, &who.UserID, action, "family", id.String(), familyView(before), familyView(after))
	})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out, err := s.familyDetail(c, s.q, who.OrgID, id)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) addMember(c *gin.Context) {
	who := callerOf(c)
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	var in memberInput
	if err := c.ShouldBindJSON(&in); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu."))
		return
	}
	var out db.Member
	err = pgx.BeginFunc(c, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		if _, err := q.LockFamily(c, db.LockFamilyParams{OrgID: who.OrgID, ID: id}); err != nil {
			return notFoundOr(err)
		}
		m := db.Member{ID: uuid.New(), OrgID: who.OrgID, FamilyID: id}
		if errs := in.apply(&m, ""); len(errs) > 0 {
			return badRequest("Membre invalide.", errs...)
		}
		var err error
		if out, err = q.CreateMember(c, db.CreateMemberParams{ID: m.ID, OrgID: m.OrgID, FamilyID: m.FamilyID, Kind: m.Kind,
			FirstName: m.FirstName, LastName: m.LastName, BirthDate: m.BirthDate, School: m.School, ClassName: m.ClassName,
			Allergies: m.Allergies, Notes: m.Notes}); err != nil {
			return err
		}
		return s.audit(c, q, who.OrgID, &who.UserID, "member.create", "member", out.ID.String(), nil, gin.H{"family_id": id, "member": memberView(out)})
	})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, memberView(out))
}

func (s *Server) patchMember(c *gin.Context) {
	who := callerOf(c)
	id, err1 := uuid.Parse(c.Param("id"))
	memberID, err2 := uuid.Parse(c.Param("member_id"))
	if err1 != nil || err2 != nil {
		fail(c, s.log, errNotFound)
		return
	}
	var in memberInput
	if err := c.ShouldBindJSON(&in); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu."))
		return
	}
	var out db.Member
	err := pgx.BeginFunc(c, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		before, err := q.LockMember(c, db.LockMemberParams{OrgID: who.OrgID, FamilyID: id, ID: memberID})
		if err != nil {
			return notFoundOr(err)
		}
		m := before
		if errs := in.apply(&m, ""); len(errs) > 0 {
			return badRequest("Membre invalide.", errs...)
		}
		if out, err = q.UpdateMember(c, db.UpdateMemberParams{OrgID: who.OrgID, FamilyID: id, ID: memberID, Kind: m.Kind,
			FirstName: m.FirstName, LastName: m.LastName, BirthDate: m.BirthDate, School: m.School, ClassName: m.ClassName,
			Allergies: m.Allergies, Notes: m.Notes}); err != nil {
			return err
		}
		return s.audit(c, q, who.OrgID, &who.UserID, "member.update", "member", memberID.String(),
			gin.H{"family_id": id, "member": memberView(before)}, gin.H{"family_id": id, "member": memberView(out)})
	})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, memberView(out))
}

// addFamilyAccount gives a family one more login (a second parent, or a family
// created without one); the account gets a set-password link by e-mail.
func (s *Server) addFamilyAccount(c *gin.Context) {
	who := callerOf(c)
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	var req struct {
		Login string `json:"login"`
	}
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Corps JSON {login} attendu."))
		return
	}
	var u db.User
	var send func()
	err = pgx.BeginFunc(c, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		if _, err := q.LockFamily(c, db.LockFamilyParams{OrgID: who.OrgID, ID: id}); err != nil {
			return notFoundOr(err)
		}
		var err error
		if u, send, err = s.createUser(c, q, db.CreateUserParams{ID: uuid.New(), OrgID: who.OrgID,
			Login: strings.TrimSpace(req.Login), Role: roleFamily, FamilyID: &id}); err != nil {
			return err
		}
		return s.audit(c, q, who.OrgID, &who.UserID, "user.create", "user", u.ID.String(), nil, userView(u))
	})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	send()
	c.JSON(http.StatusCreated, accountJSON{ID: u.ID, Login: u.Login, Disabled: u.Disabled, CreatedAt: u.CreatedAt})
}

type staffUserJSON struct {
	ID          uuid.UUID `json:"id"`
	Login       string    `json:"login"`
	Role        string    `json:"role"`
	DisplayName string    `json:"display_name"`
	Disabled    bool      `json:"disabled"`
	PasswordSet bool      `json:"password_set"`
	CreatedAt   time.Time `json:"created_at"`
}

func staffUserView(u db.User) staffUserJSON {
	return staffUserJSON{ID: u.ID, Login: u.Login, Role: u.Role, DisplayName: u.DisplayName, Disabled: u.Disabled,
		PasswordSet: u.PasswordHash != "", CreatedAt: u.CreatedAt}
}

var staffRoles = map[string]bool{roleAgent: true, roleFinance: true, roleAdmin: true}

func (s *Server) listStaffUsers(c *gin.Context) {
	rows, err := s.q.ListStaffUsers(c, callerOf(c).OrgID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := make([]staffUserJSON, 0, len(rows))
	for _, u := range rows {
		out = append(out, staffUserView(u))
	}
	c.JSON(http.StatusOK, out)
}

// createStaffUser adds a staff account (admins only); it gets a set-password link.
func (s *Server) createStaffUser(c *gin.Context) {
	who := callerOf(c)
	var req struct {
		Login       string `json:"login"`
		Role        string `json:"role"`
		DisplayName string `json:"display_name"`
	}
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu."))
		return
	}
	if !staffRoles[req.Role] {
		fail(c, s.log, badRequest("Rôle invalide.", FieldError{Field: "role", Message: "agent, finance ou admin"}))
		return
	}
	if msg := maxLen(100)(strings.TrimSpace(req.DisplayName)); msg != "" {
		fail(c, s.log, badRequest("Nom invalide.", FieldError{Field: "display_name", Message: msg}))
		return
	}
	var u db.User
	var send func()
	err := pgx.BeginFunc(c, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		var err error
		if u, send, err = s.createUser(c, q, db.CreateUserParams{ID: uuid.New(), OrgID: who.OrgID, Login: strings.TrimSpace(req.Login),
			Role: req.Role, DisplayName: strings.TrimSpace(req.DisplayName)}); err != nil {
			return err
		}
		return s.audit(c, q, who.OrgID, &who.UserID, "user.create", "user", u.ID.String(), nil, userView(u))
	})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	send()
	c.JSON(http.StatusCreated, staffUserView(u))
}

// patchStaffUser changes a staff account's role, name or disabled flag. Disabling
// ends its sessions; the org always keeps one active admin.
func (s *Server) patchStaffUser(c *gin.Context) {
	who := callerOf(c)
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	var req struct {
		Role        *string `json:"role"`
		DisplayName *string `json:"display_name"`
		Disabled    *bool   `json:"disabled"`
	}
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu."))
		return
	}
	var out db.User
	err = pgx.BeginFunc(c, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		before, err := q.LockStaffUser(c, db.LockStaffUserParams{OrgID: who.OrgID, ID: id})
		if err != nil {
			return notFoundOr(err)
		}
		if before.Role == roleAdmin && !before.Disabled {
			// Every active admin's row, locked: two admins demoting each other at once
			// are serialised, and the second sees the first's change.
			if _, err := q.LockActiveAdmins(c, who.OrgID); err != nil {
				return err
			}
		}
		u := before
		if req.Role != nil {
			if !staffRoles[*req.Role] {
				return badRequest("Rôle invalide.", FieldError{Field: "role", Message: "agent, finance ou admin"})
			}
			u.Role = *req.Role
		}
		if req.DisplayName != nil {
			if msg := maxLen(100)(strings.TrimSpace(*req.DisplayName)); msg != "" {
				return badRequest("Nom invalide.", FieldError{Field: "display_name", Message: msg})
			}
			u.DisplayName = strings.TrimSpace(*req.DisplayName)
		}
		if req.Disabled != nil {
			u.Disabled = *req.Disabled
		}
		if out, err = q.UpdateStaffUser(c, db.UpdateStaffUserParams{OrgID: who.OrgID, ID: id, Role: u.Role, DisplayName: u.DisplayName, Disabled: u.Disabled}); err != nil {
			return err
		}
		if before.Role == roleAdmin && !before.Disabled && (out.Role != roleAdmin || out.Disabled) {
			left, err := q.LockActiveAdmins(c, who.OrgID)
			if err != nil {
				return err
			}
			if len(left) == 0 {
				return problem(http.StatusConflict, "last-admin", "Dernier administrateur", "L'organisation doit garder au moins un administrateur actif.")
			}
		}
		if out.Disabled {
			if err := q.DeleteUserSessions(c, id); err != nil {
				return err
			}
		}
		return s.audit(c, q, who.OrgID, &who.UserID, "user.update", "user", id.String(), userView(before), userView(out))
	})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, staffUserView(out))
}
