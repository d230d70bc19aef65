package api

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/enfance/enfance/accounts"
	"github.com/enfance/enfance/audit"
	"github.com/enfance/enfance/cart"
)

// Authentication: the session (a Bearer token or its cookie), the caller it
// names, and the roles a route lets through. Logging in and out and the passwords
// are in accounts.go.

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

// actor is the caller as the audit log records it, and as staff act.
func (c caller) actor() audit.Actor { return audit.Actor{OrgID: c.OrgID, UserID: c.UserID} }

// handlesMoney: finance and admin decide on money beyond the rules (a family's QF,
// credit past a deadline, desk payments, adjustments).
func (c caller) handlesMoney() bool { return c.Role == roleFinance || c.Role == roleAdmin }

func callerOf(c *gin.Context) caller { return c.MustGet(callerKey).(caller) }

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
	sess, err := s.accounts.Authenticate(c, token)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	if fromCookie && c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead &&
		subtle.ConstantTimeCompare([]byte(c.GetHeader(csrfHeader)), []byte(sess.CsrfToken)) != 1 {
		fail(c, s.log, errCSRF)
		return
	}
	c.Set(callerKey, caller{UserID: sess.UserID, OrgID: sess.OrgID, Role: sess.Role, FamilyID: sess.FamilyID, Login: sess.Login,
		hash: sess.TokenHash, csrf: sess.CsrfToken})
	c.Next()
}

// Roles.
const (
	roleFamily  = accounts.RoleFamily
	roleAgent   = accounts.RoleAgent
	roleFinance = accounts.RoleFinance
	roleAdmin   = accounts.RoleAdmin
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
