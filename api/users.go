package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/enfance/enfance/accounts"
	"github.com/enfance/enfance/db"
)

// Staff accounts (admins): accounts.Store.

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

func (s *Server) listStaffUsers(c *gin.Context) {
	rows, err := s.accounts.Staff(c, callerOf(c).OrgID)
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

// createStaffUser adds a staff account; it gets a set-password link by e-mail.
func (s *Server) createStaffUser(c *gin.Context) {
	var in accounts.StaffInput
	if err := c.ShouldBindJSON(&in); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu."))
		return
	}
	link, err := s.accounts.CreateStaff(c, callerOf(c).actor(), in)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	s.mailPasswordLink(link)
	c.JSON(http.StatusCreated, staffUserView(link.User))
}

// patchStaffUser changes a staff account's role, name or disabled flag. Disabling
// ends its sessions; the org always keeps one active admin.
func (s *Server) patchStaffUser(c *gin.Context) {
	var in accounts.StaffInput
	ids, ok := s.decode(c, &in, "id")
	if !ok {
		return
	}
	in.Login = ""
	u, err := s.accounts.UpdateStaff(c, callerOf(c).actor(), ids[0], in)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, staffUserView(u))
}
