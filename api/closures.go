package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/services"
)

// The org's closures (package services), on which no service day is generated.

// listClosures is the org's closures overlapping from–to (default: the twelve
// months from the first of this month).
func (s *Server) listClosures(c *gin.Context) {
	first, _, _ := booking.ParseMonth(s.now().Format("2006-01"))
	from, to := first, first.AddDate(1, 0, -1)
	if !s.queryDays(c, []string{"from", "to"}, &from, &to) {
		return
	}
	rows, err := s.svcs.Closures(c, callerOf(c).OrgID, from, to)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := make([]services.Closure, 0, len(rows))
	for _, r := range rows {
		out = append(out, services.ClosureView(r))
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) createClosure(c *gin.Context) {
	var in services.ClosureInput
	if err := c.ShouldBindJSON(&in); err != nil {
		fail(c, s.log, badRequest("Le corps doit être {\"first_day\", \"last_day\", \"label\"}."))
		return
	}
	out, err := s.svcs.AddClosure(c, callerOf(c).actor(), in)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, services.ClosureView(out))
}

func (s *Server) deleteClosure(c *gin.Context) {
	ids, ok := s.pathIDs(c, "id")
	if !ok {
		return
	}
	if err := s.svcs.RemoveClosure(c, callerOf(c).actor(), ids[0]); err != nil {
		fail(c, s.log, err)
		return
	}
	c.Status(http.StatusNoContent)
}
