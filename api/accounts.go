package api

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/enfance/enfance/accounts"
	enfmail "github.com/enfance/enfance/mail"
)

// Logins (package accounts): logging in and out, passwords and their links, staff
// accounts, a family's logins.
func (s *Server) accountRoutes(r routes) {
	r.v1.POST("/auth/login", s.login)
	r.v1.POST("/auth/password/forgot", s.forgotPassword)
	r.v1.POST("/auth/password/reset", s.resetPassword)
	r.authed.POST("/auth/logout", s.logout)
	r.authed.GET("/me", s.me)
	r.authed.PUT("/me/password", s.changePassword)

	r.staff.POST("/families/:id/accounts", s.addFamilyAccount)
	r.staff.PATCH("/families/:id/accounts/:account_id", s.patchFamilyAccount)
	r.staff.POST("/families/:id/accounts/:account_id/link", s.familyAccountLink)
	r.admin.GET("/users", s.listStaffUsers)
	r.admin.POST("/users", s.createStaffUser)
	r.admin.PATCH("/users/:id", s.patchStaffUser)
	r.admin.POST("/users/:id/link", s.staffUserLink)
}

func (s *Server) login(c *gin.Context) {
	var req struct {
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	if err := c.ShouldBindJSON(&req); err != nil || req.Login == "" || req.Password == "" {
		fail(c, s.log, badRequest("Identifiant et mot de passe sont requis.",
			FieldError{Field: "login", Message: "requis"}, FieldError{Field: "password", Message: "requis"}))
		return
	}
	o, err := s.accounts.Login(c, req.Login, req.Password, addressKey(c.ClientIP()), c.ClientIP(), truncate(c.Request.UserAgent(), 200))
	if err != nil {
		fail(c, s.log, err)
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: sessionCookie, Value: o.Token, Path: "/", Expires: o.ExpiresAt, HttpOnly: true,
		Secure: s.cfg.Env != "dev", SameSite: http.SameSiteLaxMode,
	})
	c.JSON(http.StatusOK, gin.H{"token": o.Token, "expires_at": o.ExpiresAt, "role": o.User.Role, "csrf_token": o.CSRF})
}

func (s *Server) logout(c *gin.Context) {
	if err := s.accounts.Logout(c, callerOf(c).hash); err != nil {
		fail(c, s.log, err)
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.cfg.Env != "dev", SameSite: http.SameSiteLaxMode})
	c.Status(http.StatusNoContent)
}

func (s *Server) me(c *gin.Context) {
	who := callerOf(c)
	// The CSRF token comes back here so a portal that reloads keeps writing with its cookie.
	out := gin.H{"user_id": who.UserID, "login": who.Login, "role": who.Role, "org_id": who.OrgID, "csrf_token": who.csrf}
	if who.FamilyID != nil {
		f, err := s.families.Get(c, who.OrgID, *who.FamilyID)
		if err != nil {
			fail(c, s.log, err)
			return
		}
		out["family"] = gin.H{
			"id": f.Family.ID, "name": f.Family.Name, "email": f.Family.Email, "phone": f.Family.Phone, "phone2": f.Family.Phone2,
			"address": f.Family.Address, "postal_code": f.Family.PostalCode, "city": f.Family.City, "qf": f.Family.Qf,
		}
		out["credit_cents"] = f.Balances.CreditCents
		out["outstanding_cents"] = max(f.Balances.OutstandingCents, 0)
	}
	c.JSON(http.StatusOK, out)
}

// forgotPassword always answers 202, whether or not the login exists: the answer
// must not tell which e-mail addresses have an account, and neither must its
// time. So the request does the same work for every login — decode, hand over,
// answer — and the lookup, the link and the e-mail happen afterwards, in the
// background.
func (s *Server) forgotPassword(c *gin.Context) {
	var req struct {
		Login string `json:"login"`
	}
	if err := c.ShouldBindJSON(&req); err != nil || strings.TrimSpace(req.Login) == "" {
		fail(c, s.log, badRequest("L'identifiant est requis.", FieldError{Field: "login", Message: "requis"}))
		return
	}
	login := truncate(strings.TrimSpace(req.Login), 254)
	if !s.backgroundSlot(func(ctx context.Context) {
		link, err := s.accounts.ResetLink(ctx, login)
		if err != nil {
			s.log.Error("forgot password", zap.Error(err))
		} else if link != nil {
			s.mailPasswordLink(*link)
		}
	}) {
		fail(c, s.log, errBusy)
		return
	}
	c.JSON(http.StatusAccepted, gin.H{"message": "Si un compte correspond à cet identifiant, un e-mail avec un lien de réinitialisation vient d'être envoyé. Le lien est valable une heure."})
}

// mailPasswordLink e-mails a password link. The password itself is never e-mailed.
// Both links lead to the portal's page that posts to /api/v1/auth/password/reset.
func (s *Server) mailPasswordLink(l accounts.Link) {
	to := l.User.Login
	m := enfmail.Message{Key: "password-link:" + uuid.NewString(), To: []string{to}}
	if l.Purpose == accounts.PurposeSet {
		link := s.portalLink("set-password", url.Values{"token": {l.Token}})
		m.Subject = "Votre compte sur le portail famille"
		m.Text = "Bonjour,\n\nUn compte a été créé pour vous sur le portail famille, avec l'identifiant " + to + ".\n" +
			"Choisissez votre mot de passe en ouvrant ce lien (valable 72 heures, une seule fois) :\n\n" + link +
			"\n\nPassé ce délai, utilisez « mot de passe oublié » sur la page de connexion.\n"
	} else {
		link := s.portalLink("reset", url.Values{"token": {l.Token}})
		m.Subject = "Réinitialisation de votre mot de passe"
		m.Text = "Bonjour,\n\nPour choisir un nouveau mot de passe, ouvrez ce lien (valable une heure, une seule fois) :\n\n" + link +
			"\n\nSi vous n'avez rien demandé, ignorez ce message : votre mot de passe reste inchangé.\n"
	}
	s.sendLater(l.User.OrgID, m)
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
	if err := s.accounts.ResetPassword(c, req.Token, req.NewPassword); err != nil {
		fail(c, s.log, err)
		return
	}
	c.Status(http.StatusNoContent)
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
	if err := s.accounts.ChangePassword(c, who.actor(), who.Login, addressKey(c.ClientIP()), who.hash, req.CurrentPassword, req.NewPassword); err != nil {
		fail(c, s.log, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// tooManyAttempts is the answer while a login or an address waits. It is the same
// whether or not the login exists.
func tooManyAttempts(wait time.Duration) *Problem {
	secs := int(math.Ceil(wait.Seconds()))
	when := fmt.Sprintf("%d secondes", secs)
	if secs >= 90 {
		when = fmt.Sprintf("%d minutes", (secs+59)/60)
	}
	p := problem(http.StatusTooManyRequests, "too-many-attempts", "Trop de tentatives",
		"Trop de tentatives de connexion ont échoué. Réessayez dans "+when+", ou utilisez « mot de passe oublié ».")
	p.Extra = map[string]any{"retry_after_seconds": secs}
	p.Header = map[string]string{"Retry-After": strconv.Itoa(secs)}
	return p
}

type accountJSON struct {
	ID          uuid.UUID `json:"id"`
	Login       string    `json:"login"`
	Disabled    bool      `json:"disabled"`
	PasswordSet bool      `json:"password_set"`
	CreatedAt   time.Time `json:"created_at"`
}

// addFamilyAccount gives a family one more login (a second parent, or a family
// created without one); the account gets a set-password link by e-mail.
func (s *Server) addFamilyAccount(c *gin.Context) {
	ids, ok := s.pathIDs(c, "id")
	if !ok {
		return
	}
	var req struct {
		Login string `json:"login"`
	}
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Corps JSON {login} attendu."))
		return
	}
	link, err := s.accounts.AddFamilyLogin(c, callerOf(c).actor(), ids[0], req.Login)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	s.mailPasswordLink(link)
	u := link.User
	c.JSON(http.StatusCreated, accountJSON{ID: u.ID, Login: u.Login, Disabled: u.Disabled, CreatedAt: u.CreatedAt})
}

// patchFamilyAccount turns a family's login off (its sessions end at once) or on.
func (s *Server) patchFamilyAccount(c *gin.Context) {
	ids, ok := s.pathIDs(c, "id", "account_id")
	if !ok {
		return
	}
	var req struct {
		Disabled *bool `json:"disabled"`
	}
	if err := c.ShouldBindJSON(&req); err != nil || req.Disabled == nil {
		fail(c, s.log, badRequest("Le corps doit être {\"disabled\": true|false}.", FieldError{Field: "disabled", Message: "requis"}))
		return
	}
	u, err := s.accounts.SetFamilyLoginDisabled(c, callerOf(c).actor(), ids[0], ids[1], *req.Disabled)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, accountJSON{ID: u.ID, Login: u.Login, Disabled: u.Disabled, PasswordSet: u.PasswordHash != "", CreatedAt: u.CreatedAt})
}

// sendLink e-mails a new password link to an account; familyID nil: a staff account.
func (s *Server) sendLink(c *gin.Context, userID uuid.UUID, familyID *uuid.UUID) {
	link, err := s.accounts.SendLink(c, callerOf(c).actor(), userID, familyID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	s.mailPasswordLink(link)
	c.JSON(http.StatusAccepted, gin.H{"login": link.User.Login, "purpose": link.Purpose})
}

func (s *Server) familyAccountLink(c *gin.Context) {
	if ids, ok := s.pathIDs(c, "id", "account_id"); ok {
		s.sendLink(c, ids[1], &ids[0])
	}
}

func (s *Server) staffUserLink(c *gin.Context) {
	if ids, ok := s.pathIDs(c, "id"); ok {
		s.sendLink(c, ids[0], nil)
	}
}
