package api

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/enfance/enfance/attendance"
	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/services"
)

// The back office's view of services: their rules are data, edited here, and
// re-checked by cart on every booking. Prices are frozen on cart lines and
// reservations, so editing a grid changes no existing booking.

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

type deadlineJSON struct {
	DaysBefore int    `json:"days_before"`
	Time       string `json:"time"`            // HH:MM, org's zone
	Label      string `json:"label,omitempty"` // as the portal shows it; ignored on input
}

type eligibilityJSON struct {
	Schools      []string `json:"schools"`
	Classes      []string `json:"classes"`
	MinAgeMonths *int32   `json:"min_age_months"`
	MaxAgeMonths *int32   `json:"max_age_months"`
}

type priceJSON struct {
	QFMin      int32  `json:"qf_min"`
	QFMax      *int32 `json:"qf_max"`
	PriceCents int64  `json:"price_cents"`
}

type adminServiceJSON struct {
	ID                   uuid.UUID       `json:"id"`
	Code                 string          `json:"code"`
	Name                 string          `json:"name"`
	Description          string          `json:"description"`
	Weekdays             []int16         `json:"weekdays"`
	BookingDeadline      deadlineJSON    `json:"booking_deadline"`
	CancellationDeadline deadlineJSON    `json:"cancellation_deadline"`
	WorkingDaysOnly      bool            `json:"working_days_only"`
	Eligibility          eligibilityJSON `json:"eligibility"`
	Prices               []priceJSON     `json:"prices"`
	Active               bool            `json:"active"`
	CreatedAt            time.Time       `json:"created_at"`
	// What a child present without a reservation costs (set by finance).
	UnbookedRule *ruleJSON `json:"unbooked_rule,omitempty"`
	// How long a place offered from a day's waiting list is held in the family's cart.
	WaitlistOfferHours float64 `json:"waitlist_offer_hours"`
}

// withRules fills the services' rules for presences without a reservation.
func (s *Server) withRules(c *gin.Context, out []adminServiceJSON) error {
	rules, err := s.attendance.Rules(c, callerOf(c).OrgID)
	if err != nil {
		return err
	}
	for i := range out {
		r, ok := rules[out[i].ID]
		if !ok {
			r = attendance.DefaultRule
		}
		rv := ruleView(r)
		out[i].UnbookedRule = &rv
	}
	return nil
}

func adminServiceOf(sv db.Service, prices []db.ServicePrice) adminServiceJSON {
	out := adminServiceJSON{
		ID: sv.ID, Code: sv.Code, Name: sv.Name, Description: sv.Description, Weekdays: sv.Weekdays,
		BookingDeadline:      deadlineOf(services.BookingRule(sv)),
		CancellationDeadline: deadlineOf(services.CancelRule(sv)),
		WorkingDaysOnly:      sv.WorkingDaysOnly,
		Eligibility: eligibilityJSON{
			Schools: sv.EligibleSchools, Classes: sv.EligibleClasses, MinAgeMonths: sv.MinAgeMonths, MaxAgeMonths: sv.MaxAgeMonths,
		},
		Prices: make([]priceJSON, 0, len(prices)), Active: sv.Active, CreatedAt: sv.CreatedAt,
		WaitlistOfferHours: services.OfferHold(sv).Hours(),
	}
	for _, p := range prices {
		if p.ServiceID == sv.ID {
			out.Prices = append(out.Prices, priceJSON{QFMin: p.QfMin, QFMax: p.QfMax, PriceCents: p.PriceCents})
		}
	}
	return out
}

func deadlineOf(r booking.DeadlineRule) deadlineJSON {
	return deadlineJSON{DaysBefore: r.DaysBefore, Time: booking.Clock(r.At), Label: r.String()}
}

// adminService reads the :id service of the caller's org, or answers 404.
func (s *Server) adminService(c *gin.Context) (db.Service, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return db.Service{}, false
	}
	sv, err := s.q.GetService(c, db.GetServiceParams{OrgID: callerOf(c).OrgID, ID: id})
	if err != nil {
		fail(c, s.log, notFoundOr(err))
		return db.Service{}, false
	}
	return sv, true
}

func (s *Server) listAdminServices(c *gin.Context) {
	svcs, err := s.q.ListAllServices(c, callerOf(c).OrgID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	ids := make([]uuid.UUID, len(svcs))
	for i, sv := range svcs {
		ids[i] = sv.ID
	}
	prices, err := s.q.ListServicePrices(c, ids)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := make([]adminServiceJSON, 0, len(svcs))
	for _, sv := range svcs {
		out = append(out, adminServiceOf(sv, prices))
	}
	if err := s.withRules(c, out); err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

func (s *Server) getAdminService(c *gin.Context) {
	sv, ok := s.adminService(c)
	if !ok {
		return
	}
	prices, err := s.q.ListServicePrices(c, []uuid.UUID{sv.ID})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := []adminServiceJSON{adminServiceOf(sv, prices)}
	if err := s.withRules(c, out); err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, out[0])
}

// serviceRequest is a POST (every required field) or a PATCH (only what changes).
type serviceRequest struct {
	Code                 *string          `json:"code"`
	Name                 *string          `json:"name"`
	Description          *string          `json:"description"`
	Weekdays             *[]int16         `json:"weekdays"`
	BookingDeadline      *deadlineJSON    `json:"booking_deadline"`
	CancellationDeadline *deadlineJSON    `json:"cancellation_deadline"`
	WorkingDaysOnly      *bool            `json:"working_days_only"`
	Eligibility          *eligibilityJSON `json:"eligibility"`
	Prices               *[]priceJSON     `json:"prices"`
	Active               *bool            `json:"active"`
	WaitlistOfferHours   *int32           `json:"waitlist_offer_hours"`
}

var serviceCode = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// apply merges the request into p and checks the result as a whole.
func (req serviceRequest) apply(p *db.CreateServiceParams) []FieldError {
	var fields []FieldError
	bad := func(field, msg string) { fields = append(fields, FieldError{Field: field, Message: msg}) }
	if req.Code != nil {
		p.Code = strings.TrimSpace(*req.Code)
	}
	if req.Name != nil {
		p.Name = strings.TrimSpace(*req.Name)
	}
	if req.Description != nil {
		p.Description = strings.TrimSpace(*req.Description)
	}
	if !serviceCode.MatchString(p.Code) {
		bad("code", "1 à 40 caractères parmi a-z, 0-9, - et _")
	}
	if p.Name == "" || len(p.Name) > 100 {
		bad("name", "requis, 100 caractères au plus")
	}
	if len(p.Description) > 1000 {
		bad("description", "1000 caractères au plus")
	}
	if req.Weekdays != nil {
		days := slices.Clone(*req.Weekdays)
		slices.Sort(days)
		p.Weekdays = slices.Compact(days)
		for _, d := range p.Weekdays {
			if d < 1 || d > 7 {
				bad("weekdays", "jours ISO de 1 (lundi) à 7 (dimanche)")
				break
			}
		}
	}
	deadline := func(field string, d *deadlineJSON, days *int32, at *pgtype.Time) {
		if d == nil {
			return
		}
		if d.DaysBefore < 0 || d.DaysBefore > booking.MaxDaysBefore {
			bad(field+".days_before", fmt.Sprintf("entre 0 et %d jours", booking.MaxDaysBefore))
		}
		t, err := booking.ParseClock(d.Time)
		if err != nil {
			bad(field+".time", "heure attendue au format HH:MM")
		}
		*days, *at = int32(d.DaysBefore), pgtype.Time{Microseconds: t.Microseconds(), Valid: true}
	}
	deadline("booking_deadline", req.BookingDeadline, &p.BookingDaysBefore, &p.BookingTime)
	deadline("cancellation_deadline", req.CancellationDeadline, &p.CancelDaysBefore, &p.CancelTime)
	if req.WorkingDaysOnly != nil {
		p.WorkingDaysOnly = *req.WorkingDaysOnly
	}
	if e := req.Eligibility; e != nil {
		p.EligibleSchools, p.EligibleClasses = cleanList(e.Schools), cleanList(e.Classes)
		p.MinAgeMonths, p.MaxAgeMonths = e.MinAgeMonths, e.MaxAgeMonths
	}
	for _, a := range []struct {
		field string
		v     *int32
	}{{"eligibility.min_age_months", p.MinAgeMonths}, {"eligibility.max_age_months", p.MaxAgeMonths}} {
		if a.v != nil && (*a.v < 0 || *a.v > 300) {
			bad(a.field, "entre 0 et 300 mois")
		}
	}
	if p.MinAgeMonths != nil && p.MaxAgeMonths != nil && *p.MinAgeMonths > *p.MaxAgeMonths {
		bad("eligibility.max_age_months", "l'âge maximum précède l'âge minimum")
	}
	if req.Prices != nil {
		brackets := make([]booking.PriceBracket, len(*req.Prices))
		for i, pr := range *req.Prices {
			b := booking.PriceBracket{QFMin: int(pr.QFMin), PriceCents: pr.PriceCents}
			if pr.QFMax != nil {
				m := int(*pr.QFMax)
				b.QFMax = &m
			}
			brackets[i] = b
		}
		var be *booking.BracketError
		if err := booking.ValidateBrackets(brackets); errors.As(err, &be) {
			field := "prices"
			if be.Index >= 0 {
				field += "[" + strconv.Itoa(be.Index) + "]"
			}
			bad(field, be.Message)
		}
	}
	if req.Active != nil {
		p.Active = *req.Active
	}
	if h := req.WaitlistOfferHours; h != nil && (*h < 1 || *h > 336) {
		bad("waitlist_offer_hours", "entre 1 et 336 heures (14 jours)")
	}
	return fields
}

// setOfferHold stores the service's offer hold when the request gives one.
func (req serviceRequest) setOfferHold(c *gin.Context, q *db.Queries, sv db.Service) (db.Service, error) {
	if req.WaitlistOfferHours == nil {
		return sv, nil
	}
	return q.SetServiceOfferHold(c, db.SetServiceOfferHoldParams{OrgID: sv.OrgID, ID: sv.ID, Hours: *req.WaitlistOfferHours})
}

func cleanList(in []string) []string {
	out := []string{}
	for _, v := range in {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

var errServiceCodeTaken = problem(http.StatusConflict, "service-code-taken", "Code déjà utilisé",
	"Un autre service porte déjà ce code.")

func (s *Server) createService(c *gin.Context) {
	var req serviceRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Corps JSON invalide."))
		return
	}
	var missing []FieldError
	for field, v := range map[string]bool{"code": req.Code != nil, "name": req.Name != nil, "prices": req.Prices != nil} {
		if !v {
			missing = append(missing, FieldError{Field: field, Message: "requis"})
		}
	}
	if len(missing) > 0 {
		slices.SortFunc(missing, func(a, b FieldError) int { return strings.Compare(a.Field, b.Field) })
		fail(c, s.log, badRequest("Champs manquants.", missing...))
		return
	}
	// The defaults of the schema: J-2 before 10:00, any child, active.
	tenAM := pgtype.Time{Microseconds: (10 * time.Hour).Microseconds(), Valid: true}
	p := db.CreateServiceParams{
		OrgID: callerOf(c).OrgID, ID: uuid.New(), Weekdays: []int16{}, BookingDaysBefore: 2, BookingTime: tenAM,
		CancelDaysBefore: 2, CancelTime: tenAM, EligibleSchools: []string{}, EligibleClasses: []string{}, Active: true,
	}
	if fields := req.apply(&p); len(fields) > 0 {
		fail(c, s.log, badRequest("Service invalide.", fields...))
		return
	}
	var out adminServiceJSON
	err := pgx.BeginFunc(c, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		sv, err := q.CreateService(c, p)
		if err != nil {
			return err
		}
		if sv, err = req.setOfferHold(c, q, sv); err != nil {
			return err
		}
		prices, err := replacePrices(c, q, sv.ID, *req.Prices)
		if err != nil {
			return err
		}
		out = adminServiceOf(sv, prices)
		who := callerOf(c)
		return s.audit(c, q, who.OrgID, &who.UserID, "service.create", "service", sv.ID.String(), nil, out)
	})
	if isUniqueViolation(err) {
		fail(c, s.log, errServiceCodeTaken)
		return
	} else if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusCreated, out)
}

func (s *Server) patchService(c *gin.Context) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	var req serviceRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Corps JSON invalide."))
		return
	}
	var out adminServiceJSON
	var fields []FieldError
	err = pgx.BeginFunc(c, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		sv, err := q.LockService(c, db.LockServiceParams{OrgID: callerOf(c).OrgID, ID: id})
		if err != nil {
			return notFoundOr(err)
		}
		oldPrices, err := q.ListServicePrices(c, []uuid.UUID{sv.ID})
		if err != nil {
			return err
		}
		before := adminServiceOf(sv, oldPrices)
		p := db.CreateServiceParams{
			OrgID: sv.OrgID, ID: sv.ID, Code: sv.Code, Name: sv.Name, Description: sv.Description, Weekdays: sv.Weekdays,
			BookingDaysBefore: sv.BookingDaysBefore, BookingTime: sv.BookingTime, CancelDaysBefore: sv.CancelDaysBefore,
			CancelTime: sv.CancelTime, WorkingDaysOnly: sv.WorkingDaysOnly, EligibleSchools: sv.EligibleSchools,
			EligibleClasses: sv.EligibleClasses, MinAgeMonths: sv.MinAgeMonths, MaxAgeMonths: sv.MaxAgeMonths, Active: sv.Active,
		}
		if fields = req.apply(&p); len(fields) > 0 {
			return nil
		}
		if sv, err = q.UpdateService(c, db.UpdateServiceParams{
			OrgID: p.OrgID, ID: p.ID, Code: p.Code, Name: p.Name, Description: p.Description, Weekdays: p.Weekdays,
			BookingDaysBefore: p.BookingDaysBefore, BookingTime: p.BookingTime, CancelDaysBefore: p.CancelDaysBefore,
			CancelTime: p.CancelTime, WorkingDaysOnly: p.WorkingDaysOnly, EligibleSchools: p.EligibleSchools,
			EligibleClasses: p.EligibleClasses, MinAgeMonths: p.MinAgeMonths, MaxAgeMonths: p.MaxAgeMonths, Active: p.Active,
		}); err != nil {
			return err
		}
		if sv, err = req.setOfferHold(c, q, sv); err != nil {
			return err
		}
		var prices []db.ServicePrice
		if req.Prices != nil {
			prices, err = replacePrices(c, q, sv.ID, *req.Prices)
		} else {
			prices, err = q.ListServicePrices(c, []uuid.UUID{sv.ID})
		}
		if err != nil {
			return err
		}
		out = adminServiceOf(sv, prices)
		who := callerOf(c)
		return s.audit(c, q, who.OrgID, &who.UserID, "service.update", "service", sv.ID.String(), before, out)
	})
	switch {
	case isUniqueViolation(err):
		fail(c, s.log, errServiceCodeTaken)
	case err != nil:
		fail(c, s.log, err)
	case len(fields) > 0:
		fail(c, s.log, badRequest("Service invalide.", fields...))
	default:
		c.JSON(http.StatusOK, out)
	}
}

func replacePrices(c *gin.Context, q *db.Queries, serviceID uuid.UUID, prices []priceJSON) ([]db.ServicePrice, error) {
	if err := q.DeleteServicePrices(c, serviceID); err != nil {
		return nil, fmt.Errorf("delete prices: %w", err)
	}
	for _, p := range prices {
		if err := q.InsertServicePrice(c, db.InsertServicePriceParams{
			ID: uuid.New(), ServiceID: serviceID, QfMin: p.QFMin, QfMax: p.QFMax, PriceCents: p.PriceCents,
		}); err != nil {
			return nil, fmt.Errorf("insert price: %w", err)
		}
	}
	return q.ListServicePrices(c, []uuid.UUID{serviceID})
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

type serviceDayJSON struct {
	Date       string `json:"date"`
	Open       bool   `json:"open"`
	Capacity   *int32 `json:"capacity"` // null: unlimited
	Taken      int32  `json:"taken"`    // held in carts + confirmed
	PlacesLeft *int32 `json:"places_left"`
	Waiting    int32  `json:"waiting"` // children on the day's waiting list
}

func serviceDayOf(d db.ServiceDay) serviceDayJSON {
	out := serviceDayJSON{Date: d.Day.Format(time.DateOnly), Open: d.Open, Capacity: d.Capacity, Taken: d.Taken, Waiting: d.Waiting}
	if left, limited := booking.PlacesLeft(d.Capacity, d.Taken, d.Waiting); limited {
		out.PlacesLeft = &left
	}
	return out
}

// serviceDays lists a month of a service's days (?month=YYYY-MM, default this month).
func (s *Server) serviceDays(c *gin.Context) {
	sv, ok := s.adminService(c)
	if !ok {
		return
	}
	month := c.DefaultQuery("month", s.now().Format("2006-01"))
	first, last, err := booking.ParseMonth(month)
	if err != nil {
		fail(c, s.log, badRequest("Mois attendu au format AAAA-MM.", FieldError{Field: "month", Message: "format AAAA-MM"}))
		return
	}
	days, err := s.q.ListServiceDays(c, db.ListServiceDaysParams{ServiceID: sv.ID, FirstDay: first, LastDay: last})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := make([]serviceDayJSON, 0, len(days))
	for _, d := range days {
		out = append(out, serviceDayOf(d))
	}
	c.JSON(http.StatusOK, out)
}

type putDaysRequest struct {
	Days []struct {
		Date     string `json:"date"`
		Open     *bool  `json:"open"`     // default true
		Capacity *int32 `json:"capacity"` // null or absent: unlimited
	} `json:"days"`
}

// putServiceDays opens, closes or re-sizes days, all or nothing. A capacity below
// the places already taken is refused: those families hold or paid their place.
// Closing a day keeps its reservations (cancel them on the families' behalf if the
// service will not run) and stops new bookings.
func (s *Server) putServiceDays(c *gin.Context) {
	sv, ok := s.adminService(c)
	if !ok {
		return
	}
	var req putDaysRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Le corps doit être {\"days\": [{\"date\", \"open\", \"capacity\"}]}."))
		return
	}
	if len(req.Days) == 0 || len(req.Days) > 400 {
		fail(c, s.log, badRequest("Indiquez entre 1 et 400 jours.", FieldError{Field: "days", Message: "entre 1 et 400 éléments"}))
		return
	}
	type dayEdit struct {
		index    int
		day      time.Time
		open     bool
		capacity *int32
	}
	edits := make([]dayEdit, 0, len(req.Days))
	seen := map[time.Time]bool{}
	var fields []FieldError
	for i, d := range req.Days {
		field := "days[" + strconv.Itoa(i) + "]"
		day, err := booking.ParseDay(d.Date)
		switch {
		case err != nil:
			fields = append(fields, FieldError{Field: field + ".date", Message: "date attendue au format AAAA-MM-JJ"})
			continue
		case seen[day]:
			fields = append(fields, FieldError{Field: field + ".date", Message: "date en double"})
			continue
		case d.Capacity != nil && *d.Capacity < 0:
			fields = append(fields, FieldError{Field: field + ".capacity", Message: "capacité positive ou nulle (null : illimitée)"})
			continue
		}
		seen[day] = true
		e := dayEdit{index: i, day: day, open: true, capacity: d.Capacity}
		if d.Open != nil {
			e.open = *d.Open
		}
		edits = append(edits, e)
	}
	if len(fields) > 0 {
		fail(c, s.log, badRequest("Jours invalides.", fields...))
		return
	}
	dates := make([]time.Time, len(edits))
	for i, e := range edits {
		dates[i] = e.day
	}
	var out []serviceDayJSON
	var edited []uuid.UUID
	errCapacity := errors.New("capacity below taken")
	err := pgx.BeginFunc(c, s.pool, func(tx pgx.Tx) error {
		q := db.New(tx)
		// Lock the existing days first, in the order every writer of service_days
		// follows; bookings on them wait, so "taken" cannot move under the guard.
		locked, err := q.LockServiceDays(c, db.LockServiceDaysParams{ServiceID: sv.ID, Days: dates})
		if err != nil {
			return fmt.Errorf("lock days: %w", err)
		}
		taken := map[time.Time]int32{}
		for _, d := range locked {
			taken[d.Day] = d.Taken
		}
		for _, e := range edits {
			d, err := q.UpsertServiceDay(c, db.UpsertServiceDayParams{
				ID: uuid.New(), OrgID: sv.OrgID, ServiceID: sv.ID, Day: e.day, Open: e.open, Capacity: e.capacity,
			})
			if errors.Is(err, pgx.ErrNoRows) {
				n := taken[e.day]
				fields = append(fields, FieldError{
					Field:   "days[" + strconv.Itoa(e.index) + "].capacity",
					Message: fmt.Sprintf("%d place(s) déjà prise(s) le %s : la capacité ne peut pas être inférieure à %d", n, e.day.Format("02/01/2006"), n),
					Reason:  "below_taken",
				})
				continue
			} else if err != nil {
				return fmt.Errorf("upsert day: %w", err)
			}
			out = append(out, serviceDayOf(d))
			edited = append(edited, d.ID)
		}
		if len(fields) > 0 {
			return errCapacity
		}
		beforeDays := make([]serviceDayJSON, 0, len(locked))
		for _, d := range locked {
			beforeDays = append(beforeDays, serviceDayOf(d))
		}
		who := callerOf(c)
		return s.audit(c, q, who.OrgID, &who.UserID, "service.days", "service", sv.ID.String(), beforeDays, out)
	})
	switch {
	case errors.Is(err, errCapacity):
		p := problem(http.StatusConflict, "capacity-below-taken", "Capacité inférieure aux places prises",
			"Aucun jour n'a été modifié : certaines capacités sont inférieures aux places déjà réservées ou dans un panier.")
		p.Errors = fields
		fail(c, s.log, p)
	case err != nil:
		fail(c, s.log, err)
	default:
		// A day reopened or given more places may free some for its waiting list.
		s.placesFreed(c, edited...)
		slices.SortFunc(out, func(a, b serviceDayJSON) int { return strings.Compare(a.Date, b.Date) })
		c.JSON(http.StatusOK, out)
	}
}

type generateDaysRequest struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Capacity *int32 `json:"capacity"`
}

// generateServiceDays opens the service on its weekdays between two dates, except on
// the org's closures; days that exist already are left as they are.
func (s *Server) generateServiceDays(c *gin.Context) {
	sv, ok := s.adminService(c)
	if !ok {
		return
	}
	var req generateDaysRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Le corps doit être {\"from\", \"to\", \"capacity\"}."))
		return
	}
	from, err1 := booking.ParseDay(req.From)
	to, err2 := booking.ParseDay(req.To)
	var fields []FieldError
	if err1 != nil {
		fields = append(fields, FieldError{Field: "from", Message: "date attendue au format AAAA-MM-JJ"})
	}
	if err2 != nil {
		fields = append(fields, FieldError{Field: "to", Message: "date attendue au format AAAA-MM-JJ"})
	}
	if err1 == nil && err2 == nil && (to.Before(from) || to.Sub(from) > 400*24*time.Hour) {
		fields = append(fields, FieldError{Field: "to", Message: "période de 1 à 400 jours"})
	}
	if req.Capacity != nil && *req.Capacity < 0 {
		fields = append(fields, FieldError{Field: "capacity", Message: "capacité positive ou nulle (null : illimitée)"})
	}
	if len(fields) > 0 {
		fail(c, s.log, badRequest("Période invalide.", fields...))
		return
	}
	n, err := s.q.GenerateServiceDays(c, db.GenerateServiceDaysParams{ServiceID: sv.ID, FirstDay: from, LastDay: to, Capacity: req.Capacity})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"created": n})
}
