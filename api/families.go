package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/families"
)

// The fiche famille (package families): the family's own record, members and
// authorised persons, and the back office's families. Every query takes the
// caller's org, so another org's ids answer 404.
func (s *Server) familyRoutes(r routes) {
	r.fam.GET("/family/members", s.members)
	r.fam.PATCH("/family", s.patchFamily)
	r.fam.GET("/family/authorized-persons", s.authorizedPersons)
	r.fam.POST("/family/authorized-persons", s.addAuthorizedPerson)
	r.fam.DELETE("/family/authorized-persons/:id", s.removeAuthorizedPerson)

	r.staff.GET("/families", s.listFamilies)
	r.staff.POST("/families", s.createFamily)
	r.staff.GET("/families/:id", s.getFamily)
	r.staff.PATCH("/families/:id", s.patchStaffFamily)
	r.staff.POST("/families/:id/members", s.addMember)
	r.staff.PATCH("/families/:id/members/:member_id", s.patchMember)
	r.staff.POST("/families/:id/authorized-persons", s.staffAddAuthorizedPerson)
	r.staff.DELETE("/families/:id/authorized-persons/:person_id", s.staffRemoveAuthorizedPerson)
}

func (s *Server) members(c *gin.Context) {
	who := callerOf(c)
	rows, err := s.families.Members(c, who.OrgID, *who.FamilyID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := make([]families.Member, 0, len(rows))
	for _, m := range rows {
		out = append(out, families.MemberView(m))
	}
	c.JSON(http.StatusOK, out)
}

// patchFamily lets a family edit its phones, e-mail and address; audited.
func (s *Server) patchFamily(c *gin.Context) {
	who := callerOf(c)
	var req families.ContactPatch
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu."))
		return
	}
	out, err := s.families.UpdateContact(c, who.actor(), *who.FamilyID, req)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, families.View(out))
}

type authorizedPersonJSON struct {
	ID           uuid.UUID `json:"id"`
	FirstName    string    `json:"first_name"`
	LastName     string    `json:"last_name"`
	Phone        string    `json:"phone"`
	Relationship string    `json:"relationship"`
}

func authorizedPersonView(p db.AuthorizedPerson) authorizedPersonJSON {
	return authorizedPersonJSON{ID: p.ID, FirstName: p.FirstName, LastName: p.LastName, Phone: p.Phone, Relationship: p.Relationship}
}

func (s *Server) authorizedPersons(c *gin.Context) {
	who := callerOf(c)
	rows, err := s.families.AuthorizedPersons(c, who.OrgID, *who.FamilyID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := make([]authorizedPersonJSON, 0, len(rows))
	for _, p := range rows {
		out = append(out, authorizedPersonView(p))
	}
	c.JSON(http.StatusOK, out)
}

// addPersonTo adds a person to family familyID, for the family itself or staff.
func (s *Server) addPersonTo(c *gin.Context, familyID uuid.UUID) {
	var in families.PersonInput
	if err := c.ShouldBindJSON(&in); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu."))
		return
	}
	out, err := s.families.AddAuthorizedPerson(c, callerOf(c).actor(), familyID, in)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, authorizedPersonView(out))
}

func (s *Server) addAuthorizedPerson(c *gin.Context) { s.addPersonTo(c, *callerOf(c).FamilyID) }

func (s *Server) removeAuthorizedPerson(c *gin.Context) {
	who := callerOf(c)
	if ids, ok := s.pathIDs(c, "id"); ok {
		s.removePerson(c, *who.FamilyID, ids[0])
	}
}

func (s *Server) removePerson(c *gin.Context, familyID, id uuid.UUID) {
	if err := s.families.RemoveAuthorizedPerson(c, callerOf(c).actor(), familyID, id); err != nil {
		fail(c, s.log, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) staffAddAuthorizedPerson(c *gin.Context) {
	if ids, ok := s.pathIDs(c, "id"); ok {
		s.addPersonTo(c, ids[0])
	}
}

func (s *Server) staffRemoveAuthorizedPerson(c *gin.Context) {
	if ids, ok := s.pathIDs(c, "id", "person_id"); ok {
		s.removePerson(c, ids[0], ids[1])
	}
}

type familyListJSON struct {
	families.Family
	CreditCents      int64 `json:"credit_cents"`
	OutstandingCents int64 `json:"outstanding_cents"`
}

// listFamilies: ?q= searches the family's name, e-mail, phones and logins, its
// members' names and its children's schools; by name, paginated.
func (s *Server) listFamilies(c *gin.Context) {
	sr := families.Search{Q: truncate(strings.TrimSpace(c.Query("q")), 200), Limit: queryLimit(c, 50, 200)}
	if v := c.Query("cursor"); v != "" {
		var cur families.Cursor
		raw, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || json.Unmarshal(raw, &cur) != nil {
			fail(c, s.log, badRequest("Curseur invalide.", FieldError{Field: "cursor", Message: "curseur invalide"}))
			return
		}
		sr.After = &cur
	}
	rows, next, err := s.families.List(c, callerOf(c).OrgID, sr)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := page[familyListJSON]{Items: []familyListJSON{}}
	if next != nil {
		b, _ := json.Marshal(next)
		cur := base64.RawURLEncoding.EncodeToString(b)
		out.NextCursor = &cur
	}
	for _, r := range rows {
		out.Items = append(out.Items, familyListJSON{
			Family: families.Family{ID: r.ID, Name: r.Name, Email: r.Email, Phone: r.Phone, Phone2: r.Phone2,
				Address: r.Address, PostalCode: r.PostalCode, City: r.City, QF: r.Qf},
			CreditCents: r.CreditCents, OutstandingCents: max(r.OutstandingCents, 0),
		})
	}
	c.JSON(http.StatusOK, out)
}

type familyDetailJSON struct {
	families.Family
	CreditCents       int64                  `json:"credit_cents"`
	OutstandingCents  int64                  `json:"outstanding_cents"`
	Members           []families.StaffMember `json:"members"`
	AuthorizedPersons []authorizedPersonJSON `json:"authorized_persons"`
	Accounts          []accountJSON          `json:"accounts"`
	CreatedAt         time.Time              `json:"created_at"`
	UpdatedAt         time.Time              `json:"updated_at"`
}

// familyDetail answers one family of the org with everything staff see on its page.
func (s *Server) familyDetail(c *gin.Context, id uuid.UUID, status int) {
	d, err := s.families.Detail(c, callerOf(c).OrgID, id)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	f := d.Family
	out := familyDetailJSON{
		Family: families.View(f), CreditCents: d.Balances.CreditCents, OutstandingCents: max(d.Balances.OutstandingCents, 0),
		Members: []families.StaffMember{}, AuthorizedPersons: []authorizedPersonJSON{}, Accounts: []accountJSON{},
		CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt,
	}
	for _, m := range d.Members {
		out.Members = append(out.Members, families.StaffMemberView(m))
	}
	for _, p := range d.Persons {
		out.AuthorizedPersons = append(out.AuthorizedPersons, authorizedPersonView(p))
	}
	for _, u := range d.Accounts {
		out.Accounts = append(out.Accounts, accountJSON{ID: u.ID, Login: u.Login, Disabled: u.Disabled, PasswordSet: u.PasswordSet, CreatedAt: u.CreatedAt})
	}
	c.JSON(status, out)
}

func (s *Server) getFamily(c *gin.Context) {
	if ids, ok := s.pathIDs(c, "id"); ok {
		s.familyDetail(c, ids[0], http.StatusOK)
	}
}

// createFamily creates a family with its members and, given account_login, its
// login, which gets a set-password link by e-mail.
func (s *Server) createFamily(c *gin.Context) {
	var in families.Input
	if err := c.ShouldBindJSON(&in); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu."))
		return
	}
	created, err := s.families.Create(c, callerOf(c).actor(), in)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	if created.Link != nil {
		s.mailPasswordLink(*created.Link)
	}
	s.familyDetail(c, created.Family.ID, http.StatusCreated)
}

// patchStaffFamily edits a family's name, contact details and QF; audited.
func (s *Server) patchStaffFamily(c *gin.Context) {
	var in families.Input
	ids, ok := s.decode(c, &in, "id")
	if !ok {
		return
	}
	who := callerOf(c)
	if _, err := s.families.Update(c, who.actor(), ids[0], in, who.handlesMoney()); err != nil {
		fail(c, s.log, err)
		return
	}
	s.familyDetail(c, ids[0], http.StatusOK)
}

func (s *Server) addMember(c *gin.Context) {
	var in families.MemberInput
	ids, ok := s.decode(c, &in, "id")
	if !ok {
		return
	}
	out, err := s.families.AddMember(c, callerOf(c).actor(), ids[0], in)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, families.StaffMemberView(out))
}

func (s *Server) patchMember(c *gin.Context) {
	var in families.MemberInput
	ids, ok := s.decode(c, &in, "id", "member_id")
	if !ok {
		return
	}
	out, err := s.families.UpdateMember(c, callerOf(c).actor(), ids[0], ids[1], in)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, families.StaffMemberView(out))
}
