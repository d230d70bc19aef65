package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/enfance/enfance/attendance"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/services"
)

// Services (package services): what families can book at their price, and the
// back office's services — their rules, prices and days, and the org's closures.
func (s *Server) serviceRoutes(r routes) {
	r.fam.GET("/services", s.services)
	r.staff.GET("/services", s.listAdminServices)
	r.staff.GET("/services/:id", s.getAdminService)
	r.staff.GET("/services/:id/days", s.serviceDays)
	r.staff.PUT("/services/:id/days", s.putServiceDays)
	r.admin.POST("/services", s.createService)
	r.admin.PATCH("/services/:id", s.patchService)
	r.admin.POST("/services/:id/days/generate", s.generateServiceDays)
	r.staff.GET("/closures", s.listClosures)
	r.admin.POST("/closures", s.createClosure)
	r.admin.DELETE("/closures/:id", s.deleteClosure)
}

type adminServiceJSON struct {
	services.Service
	// What a child present without a reservation costs (set by finance).
	UnbookedRule *ruleJSON `json:"unbooked_rule,omitempty"`
}

// withRules adds the services' rules for presences without a reservation.
func (s *Server) withRules(c *gin.Context, svcs []services.Service) ([]adminServiceJSON, error) {
	rules, err := s.attendance.Rules(c, callerOf(c).OrgID)
	if err != nil {
		return nil, err
	}
	out := make([]adminServiceJSON, 0, len(svcs))
	for _, sv := range svcs {
		r, ok := rules[sv.ID]
		if !ok {
			r = attendance.DefaultRule
		}
		rv := ruleView(r)
		out = append(out, adminServiceJSON{Service: sv, UnbookedRule: &rv})
	}
	return out, nil
}

func (s *Server) listAdminServices(c *gin.Context) {
	svcs, err := s.svcs.Services(c, callerOf(c).OrgID)
	if err == nil {
		var out []adminServiceJSON
		if out, err = s.withRules(c, svcs); err == nil {
			c.JSON(http.StatusOK, out)
			return
		}
	}
	fail(c, s.log, err)
}

func (s *Server) getAdminService(c *gin.Context) {
	ids, ok := s.pathIDs(c, "id")
	if !ok {
		return
	}
	sv, err := s.svcs.Service(c, callerOf(c).OrgID, ids[0])
	if err == nil {
		var out []adminServiceJSON
		if out, err = s.withRules(c, []services.Service{sv}); err == nil {
			c.JSON(http.StatusOK, out[0])
			return
		}
	}
	fail(c, s.log, err)
}

func (s *Server) createService(c *gin.Context) {
	var in services.Input
	if err := c.ShouldBindJSON(&in); err != nil {
		fail(c, s.log, badRequest("Corps JSON invalide."))
		return
	}
	out, err := s.svcs.Create(c, callerOf(c).actor(), in)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, adminServiceJSON{Service: out})
}

func (s *Server) patchService(c *gin.Context) {
	ids, ok := s.pathIDs(c, "id")
	if !ok {
		return
	}
	var in services.Input
	if err := c.ShouldBindJSON(&in); err != nil {
		fail(c, s.log, badRequest("Corps JSON invalide."))
		return
	}
	out, err := s.svcs.Update(c, callerOf(c).actor(), ids[0], in)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, adminServiceJSON{Service: out})
}

// adminService checks that the :id service is the caller's org's (404 answered
// otherwise), before its request's body is read.
func (s *Server) adminService(c *gin.Context) (uuid.UUID, bool) {
	ids, ok := s.pathIDs(c, "id")
	if !ok {
		return uuid.Nil, false
	}
	if _, err := s.svcs.Get(c, callerOf(c).OrgID, ids[0]); err != nil {
		fail(c, s.log, err)
		return uuid.Nil, false
	}
	return ids[0], true
}

func dayViews(days []db.ServiceDay) []services.Day {
	out := make([]services.Day, 0, len(days))
	for _, d := range days {
		out = append(out, services.DayView(d))
	}
	return out
}

// serviceDays lists a month of a service's days (?month=YYYY-MM, default this month).
func (s *Server) serviceDays(c *gin.Context) {
	ids, ok := s.pathIDs(c, "id")
	if !ok {
		return
	}
	days, err := s.svcs.Days(c, callerOf(c).OrgID, ids[0], c.DefaultQuery("month", s.now().Format("2006-01")))
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, dayViews(days))
}

// putServiceDays opens, closes or re-sizes days, all or nothing (services.PutDays).
func (s *Server) putServiceDays(c *gin.Context) {
	id, ok := s.adminService(c)
	if !ok {
		return
	}
	var req struct {
		Days []services.DayEdit `json:"days"`
	}
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Le corps doit être {\"days\": [{\"date\", \"open\", \"capacity\"}]}."))
		return
	}
	days, err := s.svcs.PutDays(c, callerOf(c).actor(), id, req.Days)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	// A day reopened or given more places may free some for its waiting list.
	edited := make([]uuid.UUID, len(days))
	for i, d := range days {
		edited[i] = d.ID
	}
	s.placesFreed(c, edited...)
	c.JSON(http.StatusOK, dayViews(days))
}

// generateServiceDays opens the service on its weekdays between two dates, except on
// the org's closures; days that exist already are left as they are.
func (s *Server) generateServiceDays(c *gin.Context) {
	id, ok := s.adminService(c)
	if !ok {
		return
	}
	var g services.Generation
	if err := c.ShouldBindJSON(&g); err != nil {
		fail(c, s.log, badRequest("Le corps doit être {\"from\", \"to\", \"capacity\"}."))
		return
	}
	n, err := s.svcs.GenerateDays(c, callerOf(c).actor(), id, g)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"created": n})
}
