package api

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/enfance/enfance/accounts"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/password"
)

const (
	sessionCookie = "enfance_session"
	csrfHeader    = "X-CSRF-Token"
	callerKey     = "caller"
)

// caller is the authenticated user of a request.
type caller struct {
	UserID   uuid.UUID
	OrgID    uuid.UUID
	Role     string
	FamilyID *uuid.UUID
	Login    string
	hash     []byte
	csrf     string
}

func (c caller) family() cart.Family { return cart.Family{OrgID: c.OrgID, ID: *c.FamilyID} }

func callerOf(c *gin.Context) caller { return c.MustGet(callerKey).(caller) }

type loginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

func (s *Server) login(c *gin.Context) {
	var req loginRequest
	if err := c.ShouldBindJSON(&req); err != nil || req.Login == "" || req.Password == "" {
		fail(c, s.log, badRequest("Identifiant et mot de passe sont requis.",
			FieldError{Field: "login", Message: "requis"}, FieldError{Field: "password", Message: "requis"}))
		return
	}
	login, addr := strings.TrimSpace(req.Login), c.ClientIP()
	if wait, err := s.admitAttempt(c, login, addr); err != nil {
		fail(c, s.log, err)
		return
	} else if wait > 0 {
		fail(c, s.log, tooManyAttempts(c, wait))
		return
	}
	user, err := s.q.GetUserByLogin(c, login)
	if errors.Is(err, pgx.ErrNoRows) {
		password.Burn(c, req.Password) // same time and answer as a wrong password
		s.loginFailed(c, addr)
		return
	} else if err != nil {
		fail(c, s.log, err)
		return
	}
	ok, err := password.Verify(c, req.Password, user.PasswordHash)
	if err != nil || !ok {
		s.loginFailed(c, addr)
		return
	}
	if err := s.attemptSucceeded(c, login); err != nil {
		fail(c, s.log, err)
		return
	}
	token, hash := accounts.NewToken()
	csrf, _ := accounts.NewToken()
	expires := s.now().Add(s.cfg.SessionAbsoluteTimeout)
	if err := s.q.CreateSession(c, db.CreateSessionParams{
		TokenHash: hash, UserID: user.ID, CsrfToken: csrf, ExpiresAt: expires,
		Ip: c.ClientIP(), UserAgent: truncate(c.Request.UserAgent(), 200),
	}); err != nil {
		fail(c, s.log, err)
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", Expires: expires, HttpOnly: true,
		Secure: s.cfg.Env != "dev", SameSite: http.SameSiteLaxMode,
	})
	c.JSON(http.StatusOK, gin.H{"token": token, "expires_at": expires, "role": user.Role, "csrf_token": csrf})
}

// loginFailed counts the failure against the client's address and answers it,
// the same for a wrong login and a wrong password.
func (s *Server) loginFailed(c *gin.Context, addr string) {
	if err := s.attemptFailed(c, addr); err != nil {
		fail(c, s.log, err)
		return
	}
	fail(c, s.log, errBadLogin)
}

func (s *Server) logout(c *gin.Context) {
	if err := s.q.DeleteSession(c, callerOf(c).hash); err != nil {
		fail(c, s.log, err)
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.cfg.Env != "dev", SameSite: http.SameSiteLaxMode})
	c.Status(http.StatusNoContent)
}

// authenticate accepts a Bearer token or the session cookie. Cookie-authenticated
// writes must echo the session's CSRF token in X-CSRF-Token.
func (s *Server) authenticate(c *gin.Context) {
	token, fromCookie := "", false
	if h := c.GetHeader("Authorization"); strings.HasPrefix(h, "Bearer ") {
		token = strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
	} else if ck, err := c.Cookie(sessionCookie); err == nil {
		token, fromCookie = ck, true
	}
	if token == "" {
		fail(c, s.log, errUnauthorized)
		return
	}
	hash := accounts.HashToken(token)
	sess, err := s.q.GetSession(c, hash)
	if errors.Is(err, pgx.ErrNoRows) {
		fail(c, s.log, errUnauthorized)
		return
	} else if err != nil {
		fail(c, s.log, err)
		return
	}
	now := s.now()
	if now.Sub(sess.LastSeenAt) > s.cfg.SessionIdleTimeout {
		_ = s.q.DeleteSession(c, hash)
		fail(c, s.log, errUnauthorized)
		return
	}
	if fromCookie && c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead &&
		subtle.ConstantTimeCompare([]byte(c.GetHeader(csrfHeader)), []byte(sess.CsrfToken)) != 1 {
		fail(c, s.log, errCSRF)
		return
	}
	// One write a minute at most per session keeps the idle clock without a write per request.
	if now.Sub(sess.LastSeenAt) > time.Minute {
		if err := s.q.TouchSession(c, hash); err != nil {
			fail(c, s.log, err)
			return
		}
	}
	c.Set(callerKey, caller{UserID: sess.UserID, OrgID: sess.OrgID, Role: sess.Role, FamilyID: sess.FamilyID, Login: sess.Login, hash: hash, csrf: sess.CsrfToken})
	c.Next()
}

// Roles.
const (
	roleFamily  = "family"
	roleAgent   = "agent"
	roleFinance = "finance"
	roleAdmin   = "admin"
)

// requireRole lets through only the given staff roles.
func (s *Server) requireRole(roles ...string) gin.HandlerFunc {
	return func(c *gin.Context) {
		role := callerOf(c).Role
		for _, r := range roles {
			if role == r {
				c.Next()
				return
			}
		}
		fail(c, s.log, errForbidden)
	}
}

func (s *Server) requireFamily(c *gin.Context) {
	if callerOf(c).FamilyID == nil {
		fail(c, s.log, errForbidden)
		return
	}
	c.Next()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
