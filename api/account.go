package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/enfance/enfance/accounts"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/families"
	enfmail "github.com/enfance/enfance/mail"
	"github.com/enfance/enfance/password"
)

// accountRoutes registers issue 6's routes on the groups of Handler.
func (s *Server) accountRoutes(v1, authed, fam, staff, money, admin *gin.RouterGroup) {
	v1.POST("/auth/password/forgot", s.forgotPassword)
	v1.POST("/auth/password/reset", s.resetPassword)
	authed.PUT("/me/password", s.changePassword)

	fam.PATCH("/family", s.patchFamily)
	fam.GET("/family/authorized-persons", s.authorizedPersons)
	fam.POST("/family/authorized-persons", s.addAuthorizedPerson)
	fam.DELETE("/family/authorized-persons/:id", s.removeAuthorizedPerson)
	fam.POST("/messages", s.postMessage)
	fam.GET("/messages", s.familyMessages)
	fam.GET("/messages/:id/attachments/:att_id", s.familyAttachment)

	staff.GET("/families", s.listFamilies)
	staff.POST("/families", s.createFamily)
	staff.GET("/families/:id", s.getFamily)
	staff.PATCH("/families/:id", s.patchStaffFamily)
	staff.POST("/families/:id/members", s.addMember)
	staff.PATCH("/families/:id/members/:member_id", s.patchMember)
	staff.POST("/families/:id/accounts", s.addFamilyAccount)
	staff.GET("/families/:id/payments", s.staffFamilyPayments)
	money.POST("/families/:id/payments", s.deskPayment)
	money.POST("/families/:id/adjustments", s.adjustment)
	staff.GET("/messages", s.inbox)
	staff.GET("/messages/:id", s.thread)
	staff.POST("/messages/:id/reply", s.reply)
	staff.GET("/messages/:id/attachments/:att_id", s.staffAttachment)
	admin.GET("/users", s.listStaffUsers)
	admin.POST("/users", s.createStaffUser)
	admin.PATCH("/users/:id", s.patchStaffUser)
	admin.GET("/audit", s.auditLog)
}

// forgotPassword always answers 202, whether or not the login exists: the answer
// must not tell which e-mail addresses have an account, and neither must its
// time. So the request does the same work for every login — decode, hand over,
// answer — and the lookup, the link and the e-mail happen afterwards, in the
// background (mailResetLink).
func (s *Server) forgotPassword(c *gin.Context) {
	var req struct {
		Login string `json:"login"`
	}
	if err := c.ShouldBindJSON(&req); err != nil || strings.TrimSpace(req.Login) == "" {
		fail(c, s.log, badRequest("L'identifiant est requis.", FieldError{Field: "login", Message: "requis"}))
		return
	}
	login := truncate(strings.TrimSpace(req.Login), 254)
	if !s.backgroundSlot(func(ctx context.Context) { s.mailResetLink(ctx, login) }) {
		fail(c, s.log, errBusy)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"message": "Si un compte correspond à cet identifiant, un e-mail avec un lien de réinitialisation vient d'être envoyé. Le lien est valable une heure."})
}

// mailResetLink e-mails a reset link to the account of login, if there is one and
// none was e-mailed in the last PASSWORD_RESET_MAIL_EVERY.
func (s *Server) mailResetLink(ctx context.Context, login string) {
	user, err := s.q.GetUserByLogin(ctx, login)
	if errors.Is(err, pgx.ErrNoRows) {
		return
	} else if err != nil {
		s.log.Error("forgot password: read the account", zap.Error(err))
		return
	}
	now := s.now()
	if n, err := s.q.ClaimResetMail(ctx, db.ClaimResetMailParams{ID: user.ID, Now: now, Since: now.Add(-s.cfg.ResetMailEvery)}); err != nil {
		s.log.Error("forgot password: claim the e-mail", zap.Error(err))
		return
	} else if n == 0 {
		return // one was sent a moment ago
	}
	token, err := s.newPasswordToken(ctx, s.q, user.ID, "reset")
	if err != nil {
		s.log.Error("forgot password", zap.Error(err))
		return
	}
	s.mailPasswordLink(user.OrgID, user.Login, token, "reset")
}

// newPasswordToken stores a new single-use link for the user (only its hash) and
// returns the token to e-mail.
func (s *Server) newPasswordToken(ctx context.Context, q *db.Queries, userID uuid.UUID, purpose string) (string, error) {
	return accounts.NewPasswordLink(ctx, q, userID, purpose, s.now())
}

// mailPasswordLink e-mails a password link. The password itself is never e-mailed.
// Both links lead to the portal's page that posts to /api/v1/auth/password/reset.
func (s *Server) mailPasswordLink(orgID uuid.UUID, to, token, purpose string) {
	m := enfmail.Message{Key: "password-link:" + uuid.NewString(), To: []string{to}}
	if purpose == "set" {
		link := s.portalLink("set-password", url.Values{"token": {token}})
		m.Subject = "Votre compte sur le portail famille"
		m.Text = "Bonjour,\n\nUn compte a été créé pour vous sur le portail famille, avec l'identifiant " + to + ".\n" +
			"Choisissez votre mot de passe en ouvrant ce lien (valable 72 heures, une seule fois) :\n\n" + link +
			"\n\nPassé ce délai, utilisez « mot de passe oublié » sur la page de connexion.\n"
	} else {
		link := s.portalLink("reset", url.Values{"token": {token}})
		m.Subject = "Réinitialisation de votre mot de passe"
		m.Text = "Bonjour,\n\nPour choisir un nouveau mot de passe, ouvrez ce lien (valable une heure, une seule fois) :\n\n" + link +
			"\n\nSi vous n'avez rien demandé, ignorez ce message : votre mot de passe reste inchangé.\n"
	}
	s.sendLater(orgID, m)
}

var errBadResetToken = problem(http.StatusBadRequest, "invalid-token", "Lien invalide ou expiré",
	"Ce lien n'est plus valable (il a déjà servi ou a expiré). Demandez-en un nouveau avec « mot de passe oublié ».")

func weakPassword(field string, w *password.Weakness) *Problem {
	p := problem(http.StatusBadRequest, "weak-password", "Mot de passe refusé", w.Message)
	p.Errors = []FieldError{{Field: field, Message: w.Message, Reason: w.Code}}
	return p
}

// resetPassword sets a new password with a link from forgotPassword or from an
// account created by staff. The link is spent, every session of the account ends.
func (s *Server) resetPassword(c *gin.Context) {
	var req struct {
		Token       string `json:"token"`
		NewPassword string `json:"new_password"`
	}
	if err := c.ShouldBindJSON(&req); err != nil || req.Token == "" || req.NewPassword == "" {
		fail(c, s.log, badRequest("Le lien et le nouveau mot de passe sont requis.",
			FieldError{Field: "token", Message: "requis"}, FieldError{Field: "new_password", Message: "requis"}))
		return
	}
	tokenHash := accounts.HashToken(req.Token)
	tok, err := s.q.GetPasswordToken(c, db.GetPasswordTokenParams{TokenHash: tokenHash, Now: s.now()})
	if errors.Is(err, pgx.ErrNoRows) {
		fail(c, s.log, errBadResetToken)
		return
	} else if err != nil {
		fail(c, s.log, err)
		return
	}
	// Checked before the link is spent: a refused password leaves the link usable.
	if w := password.Check(req.NewPassword, tok.Login); w != nil {
		fail(c, s.log, weakPassword("new_password", w))
		return
	}
	hash, err := password.Hash(c, req.NewPassword)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	err = pgx.BeginFunc(c, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		now := s.now()
		if _, err := q.ConsumePasswordToken(c, db.ConsumePasswordTokenParams{TokenHash: tokenHash, Now: now}); err != nil {
			return notFoundOr(err)
		}
		if err := q.SetUserPassword(c, db.SetUserPasswordParams{ID: tok.UserID, PasswordHash: hash}); err != nil {
			return err
		}
		if err := q.RevokePasswordTokens(c, db.RevokePasswordTokensParams{UserID: tok.UserID, Now: now}); err != nil {
			return err
		}
		if err := q.DeleteUserSessions(c, tok.UserID); err != nil {
			return err
		}
		return s.audit(c, q, tok.OrgID, &tok.UserID, "user.password_"+tok.Purpose, "user", tok.UserID.String(), nil, gin.H{"via": "link"})
	})
	if errors.Is(err, errNotFound) { // spent by a concurrent request
		fail(c, s.log, errBadResetToken)
		return
	} else if err != nil {
		fail(c, s.log, err)
		return
	}
	// Whoever holds the mailbox may log in again at once.
	_ = s.q.ClearLoginThrottle(c, db.ClearLoginThrottleParams{Scope: "login", Key: loginKey(tok.Login)})
	c.Status(http.StatusNoContent)
}

// currentPassword checks the caller's password, given again before a sensitive
// change; it is counted like a login attempt, since a stolen session could
// otherwise guess it. false: the problem is answered.
func (s *Server) currentPassword(c *gin.Context, given string) bool {
	who := callerOf(c)
	addr := c.ClientIP()
	if wait, err := s.admitAttempt(c, who.Login, addr); err != nil {
		fail(c, s.log, err)
		return false
	} else if wait > 0 {
		fail(c, s.log, tooManyAttempts(c, wait))
		return false
	}
	user, err := s.q.GetUser(c, who.UserID)
	if err != nil {
		fail(c, s.log, err)
		return false
	}
	if ok, err := password.Verify(c, given, user.PasswordHash); err != nil || !ok {
		if err := s.attemptFailed(c, addr); err != nil {
			fail(c, s.log, err)
			return false
		}
		p := problem(http.StatusBadRequest, "wrong-password", "Mot de passe actuel incorrect", "Le mot de passe actuel saisi est incorrect.")
		p.Errors = []FieldError{{Field: "current_password", Message: "incorrect"}}
		fail(c, s.log, p)
		return false
	}
	if err := s.attemptSucceeded(c, who.Login); err != nil {
		fail(c, s.log, err)
		return false
	}
	return true
}

// changePassword needs the current password (counted like a login attempt, since a
// stolen session could otherwise guess it) and ends the account's other sessions.
func (s *Server) changePassword(c *gin.Context) {
	who := callerOf(c)
	var req struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if err := c.ShouldBindJSON(&req); err != nil || req.CurrentPassword == "" || req.NewPassword == "" {
		fail(c, s.log, badRequest("Le mot de passe actuel et le nouveau sont requis.",
			FieldError{Field: "current_password", Message: "requis"}, FieldError{Field: "new_password", Message: "requis"}))
		return
	}
	if w := password.Check(req.NewPassword, who.Login); w != nil {
		fail(c, s.log, weakPassword("new_password", w))
		return
	}
	if !s.currentPassword(c, req.CurrentPassword) {
		return
	}
	hash, err := password.Hash(c, req.NewPassword)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	err = pgx.BeginFunc(c, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		if err := q.SetUserPassword(c, db.SetUserPasswordParams{ID: who.UserID, PasswordHash: hash}); err != nil {
			return err
		}
		if err := q.DeleteOtherSessions(c, db.DeleteOtherSessionsParams{UserID: who.UserID, Keep: who.hash}); err != nil {
			return err
		}
		if err := q.RevokePasswordTokens(c, db.RevokePasswordTokensParams{UserID: who.UserID, Now: s.now()}); err != nil {
			return err
		}
		return s.audit(c, q, who.OrgID, &who.UserID, "user.password_change", "user", who.UserID.String(), nil, gin.H{"via": "current_password"})
	})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// familyJSON is the fiche famille as the family and staff read it.
type familyJSON struct {
	ID         uuid.UUID `json:"id"`
	Name       string    `json:"name"`
	Email      string    `json:"email"`
	Phone      string    `json:"phone"`
	Phone2     string    `json:"phone2"`
	Address    string    `json:"address"`
	PostalCode string    `json:"postal_code"`
	City       string    `json:"city"`
	QF         int32     `json:"qf"`
}

func familyView(f db.Family) familyJSON {
	return familyJSON{ID: f.ID, Name: f.Name, Email: f.Email, Phone: f.Phone, Phone2: f.Phone2,
		Address: f.Address, PostalCode: f.PostalCode, City: f.City, QF: f.Qf}
}

// contactPatch holds the contact fields a family may edit; absent fields keep their value.
type contactPatch struct {
	Email      *string `json:"email"`
	Phone      *string `json:"phone"`
	Phone2     *string `json:"phone2"`
	Address    *string `json:"address"`
	PostalCode *string `json:"postal_code"`
	City       *string `json:"city"`
}

var (
	phoneChars = regexp.MustCompile(`^\+?[0-9 .\-()]+$`)
	postalCode = regexp.MustCompile(`^[0-9]{5}$`)
)

// apply validates p and writes it over f, returning the field errors.
func (p contactPatch) apply(f *db.Family) []FieldError {
	var errs []FieldError
	set := func(dst *string, v *string, field string, check func(string) string) {
		if v == nil {
			return
		}
		val := strings.TrimSpace(*v)
		if msg := check(val); msg != "" {
			errs = append(errs, FieldError{Field: field, Message: msg})
			return
		}
		*dst = val
	}
	set(&f.Email, p.Email, "email", checkEmail)
	set(&f.Phone, p.Phone, "phone", checkPhone)
	set(&f.Phone2, p.Phone2, "phone2", checkPhone)
	set(&f.Address, p.Address, "address", maxLen(200))
	set(&f.PostalCode, p.PostalCode, "postal_code", func(v string) string {
		if v != "" && !postalCode.MatchString(v) {
			return "code postal à 5 chiffres attendu"
		}
		return ""
	})
	set(&f.City, p.City, "city", maxLen(100))
	return errs
}

func checkEmail(v string) string {
	if v == "" {
		return ""
	}
	a, err := mail.ParseAddress(v)
	if err != nil || a.Address != v || len(v) > 254 || !strings.Contains(v[strings.LastIndexByte(v, '@'):], ".") {
		return "adresse e-mail invalide"
	}
	return ""
}

// checkPhone accepts French and international numbers as people type them.
func checkPhone(v string) string {
	if v == "" {
		return ""
	}
	digits := 0
	for _, r := range v {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	if !phoneChars.MatchString(v) || digits < 10 || digits > 15 {
		return "numéro de téléphone invalide (10 chiffres, ou +33 …)"
	}
	return ""
}

func maxLen(n int) func(string) string {
	return func(v string) string {
		if utf8.RuneCountInString(v) > n {
			return fmt.Sprintf("%d caractères au plus", n)
		}
		return ""
	}
}

func required(n int) func(string) string {
	return func(v string) string {
		if v == "" {
			return "requis"
		}
		return maxLen(n)(v)
	}
}

// patchFamily lets a family edit its phones, e-mail and address; audited.
func (s *Server) patchFamily(c *gin.Context) {
	who := callerOf(c)
	var req contactPatch
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu."))
		return
	}
	var out db.Family
	err := pgx.BeginFunc(c, s.pool, func(tx pgx.Tx) error {
		q := s.q.WithTx(tx)
		before, err := q.LockFamily(c, db.LockFamilyParams{OrgID: who.OrgID, ID: *who.FamilyID})
		if err != nil {
			return notFoundOr(err)
		}
		after := before
		if errs := req.apply(&after); len(errs) > 0 {
			return badRequest("Coordonnées invalides.", errs...)
		}
		if out, err = q.UpdateFamilyContact(c, db.UpdateFamilyContactParams{
			OrgID: who.OrgID, ID: before.ID, Email: after.Email, Phone: after.Phone, Phone2: after.Phone2,
			Address: after.Address, PostalCode: after.PostalCode, City: after.City,
		}); err != nil {
			return err
		}
		return s.audit(c, q, who.OrgID, &who.UserID, "family.contact_update", "family", before.ID.String(), familyView(before), familyView(out))
	})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, familyView(out))
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
	rows, err := s.q.ListAuthorizedPersons(c, db.ListAuthorizedPersonsParams{OrgID: who.OrgID, FamilyID: *who.FamilyID})
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

// authorizedPersonInput reads and checks a person to add to family familyID.
func authorizedPersonInput(c *gin.Context, familyID uuid.UUID) (db.InsertAuthorizedPersonParams, *Problem) {
	var req struct {
		FirstName    string `json:"first_name"`
		LastName     string `json:"last_name"`
		Phone        string `json:"phone"`
		Relationship string `json:"relationship"`
	}
	if err := c.ShouldBindJSON(&req); err != nil {
		return db.InsertAuthorizedPersonParams{}, badRequest("Corps JSON attendu.")
	}
	p := db.InsertAuthorizedPersonParams{
		ID: uuid.New(), FamilyID: familyID, FirstName: strings.TrimSpace(req.FirstName),
		LastName: strings.TrimSpace(req.LastName), Phone: strings.TrimSpace(req.Phone), Relationship: strings.TrimSpace(req.Relationship),
	}
	var errs []FieldError
	for _, f := range []struct{ field, msg string }{
		{"first_name", required(100)(p.FirstName)}, {"last_name", required(100)(p.LastName)},
		{"phone", checkPhone(p.Phone)}, {"relationship", maxLen(100)(p.Relationship)},
	} {
		if f.msg != "" {
			errs = append(errs, FieldError{Field: f.field, Message: f.msg})
		}
	}
	if p.Phone == "" {
		errs = append(errs, FieldError{Field: "phone", Message: "requis : on doit pouvoir joindre la personne"})
	}
	if len(errs) > 0 {
		return p, badRequest("Personne autorisée invalide.", errs...)
	}
	return p, nil
}

// addPersonTo adds a person to family familyID, for the family itself or staff.
func (s *Server) addPersonTo(c *gin.Context, familyID uuid.UUID) {
	p, bad := authorizedPersonInput(c, familyID)
	if bad != nil {
		fail(c, s.log, bad)
		return
	}
	who := callerOf(c)
	out, err := s.families.AddAuthorizedPerson(c, who.actor(), p)
	if err != nil {
		s.familiesError(c, err)
		return
	}
	c.JSON(http.StatusCreated, authorizedPersonView(out))
}

func (s *Server) familiesError(c *gin.Context, err error) {
	switch {
	case errors.Is(err, families.ErrNotFound):
		fail(c, s.log, errNotFound)
	case errors.Is(err, families.ErrTooMany):
		fail(c, s.log, problem(http.StatusConflict, "too-many-authorized-persons", "Trop de personnes autorisées",
			fmt.Sprintf("Une famille peut déclarer %d personnes autorisées au plus ; retirez-en une d'abord.", families.MaxAuthorizedPersons)))
	default:
		fail(c, s.log, err)
	}
}

func (s *Server) addAuthorizedPerson(c *gin.Context) { s.addPersonTo(c, *callerOf(c).FamilyID) }

func (s *Server) removeAuthorizedPerson(c *gin.Context) {
	who := callerOf(c)
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	if err := s.families.RemoveAuthorizedPerson(c, who.actor(), *who.FamilyID, id); err != nil {
		s.familiesError(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}
