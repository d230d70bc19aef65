package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/cart"
	"github.com/enfance/enfance/db"
)

type monthToggleRequest struct {
	ChildID   uuid.UUID `json:"child_id"`
	ServiceID uuid.UUID `json:"service_id"`
	Month     string    `json:"month"`
	Selected  *bool     `json:"selected"`
}

type monthToggleJSON struct {
	Selected bool           `json:"selected"`
	Added    []cartItemJSON `json:"added"`
	Skipped  []cart.Skipped `json:"skipped"`
	Removed  []cartItemJSON `json:"removed"`
	Cart     cartJSON       `json:"cart"`
}

func itemsOf(lines []db.CartLine) []cartItemJSON {
	out := make([]cartItemJSON, 0, len(lines))
	for _, l := range lines {
		out = append(out, cartItemJSON{ID: l.ID, ChildID: l.ChildID, ServiceID: l.ServiceID, Date: l.Day.Format(time.DateOnly), PriceCents: l.PriceCents})
	}
	return out
}

// toggleMonth ticks or unticks a whole month for one child and service. Ticking
// adds every day that can be booked and says which were skipped and why; it is not
// all or nothing, unlike POST /cart/items.
func (s *Server) toggleMonth(c *gin.Context) {
	var req monthToggleRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Le corps doit être {\"child_id\", \"service_id\", \"month\": \"AAAA-MM\", \"selected\": true|false}."))
		return
	}
	var fields []FieldError
	if req.ChildID == uuid.Nil {
		fields = append(fields, FieldError{Field: "child_id", Message: "requis"})
	}
	if req.ServiceID == uuid.Nil {
		fields = append(fields, FieldError{Field: "service_id", Message: "requis"})
	}
	if _, _, err := booking.ParseMonth(req.Month); err != nil {
		fields = append(fields, FieldError{Field: "month", Message: "mois attendu au format AAAA-MM"})
	}
	if req.Selected == nil {
		fields = append(fields, FieldError{Field: "selected", Message: "requis (true pour cocher, false pour décocher)"})
	}
	if len(fields) > 0 {
		fail(c, s.log, badRequest("Paramètres invalides.", fields...))
		return
	}
	res, err := s.carts.ToggleMonth(c, callerOf(c).family(), req.ChildID, req.ServiceID, req.Month, *req.Selected)
	switch {
	case errors.Is(err, cart.ErrNotFound):
		fail(c, s.log, errNotFound)
		return
	case errors.Is(err, cart.ErrNotOpen):
		fail(c, s.log, errCartBusy)
		return
	case err != nil:
		fail(c, s.log, err)
		return
	}
	// The cart's workflow owns its expiry: it starts with the cart, once.
	if res.Cart != nil && res.Created {
		if err := s.startCart(c, *res.Cart); err != nil {
			fail(c, s.log, err)
			return
		}
	}
	freed := make([]uuid.UUID, 0, len(res.Removed))
	for _, l := range res.Removed {
		freed = append(freed, l.ServiceDayID)
	}
	s.placesFreed(c, freed...)
	out := monthToggleJSON{Selected: *req.Selected, Added: itemsOf(res.Added), Skipped: res.Skipped, Removed: itemsOf(res.Removed)}
	if out.Skipped == nil {
		out.Skipped = []cart.Skipped{}
	}
	var ok bool
	if out.Cart, ok = s.cartView(c); ok {
		c.JSON(http.StatusOK, out)
	}
}
