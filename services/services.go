package services

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/enfance/enfance/audit"
	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/check"
	"github.com/enfance/enfance/db"
)

// A service's rules are data, edited by admins here and re-checked by package
// cart on every booking. Prices are frozen on cart lines and reservations, so
// editing a grid changes no existing booking.

// ErrCodeTaken: another service of the org has this code.
var ErrCodeTaken = errors.New("service code taken")

// Deadline is a deadline rule as admins write it: "J-n avant HH:MM".
type Deadline struct {
	DaysBefore int    `json:"days_before"`
	Time       string `json:"time"`            // HH:MM, org's zone
	Label      string `json:"label,omitempty"` // as the portal shows it; ignored on input
}

// Eligibility is who may be booked: schools, classes, an age range (empty: anyone).
type Eligibility struct {
	Schools      []string `json:"schools"`
	Classes      []string `json:"classes"`
	MinAgeMonths *int32   `json:"min_age_months"`
	MaxAgeMonths *int32   `json:"max_age_months"`
}

// Price is a bracket of the price grid, by quotient familial.
type Price struct {
	QFMin      int32  `json:"qf_min"`
	QFMax      *int32 `json:"qf_max"`
	PriceCents int64  `json:"price_cents"`
}

// Service is a service with its rules and prices, as admins and the audit log
// read it.
type Service struct {
	ID                   uuid.UUID   `json:"id"`
	Code                 string      `json:"code"`
	Name                 string      `json:"name"`
	Description          string      `json:"description"`
	Weekdays             []int16     `json:"weekdays"`
	BookingDeadline      Deadline    `json:"booking_deadline"`
	CancellationDeadline Deadline    `json:"cancellation_deadline"`
	WorkingDaysOnly      bool        `json:"working_days_only"`
	Eligibility          Eligibility `json:"eligibility"`
	Prices               []Price     `json:"prices"`
	Active               bool        `json:"active"`
	CreatedAt            time.Time   `json:"created_at"`
	// How long a place offered from a day's waiting list is held in the family's cart.
	WaitlistOfferHours float64 `json:"waitlist_offer_hours"`
}

// View is sv with its prices (those of prices that are sv's).
func View(sv db.Service, prices []db.ServicePrice) Service {
	out := Service{
		ID: sv.ID, Code: sv.Code, Name: sv.Name, Description: sv.Description, Weekdays: sv.Weekdays,
		BookingDeadline:      deadlineOf(BookingRule(sv)),
		CancellationDeadline: deadlineOf(CancelRule(sv)),
		WorkingDaysOnly:      sv.WorkingDaysOnly,
		Eligibility: Eligibility{
			Schools: sv.EligibleSchools, Classes: sv.EligibleClasses, MinAgeMonths: sv.MinAgeMonths, MaxAgeMonths: sv.MaxAgeMonths,
		},
		Prices: make([]Price, 0, len(prices)), Active: sv.Active, CreatedAt: sv.CreatedAt,
		WaitlistOfferHours: OfferHold(sv).Hours(),
	}
	for _, p := range prices {
		if p.ServiceID == sv.ID {
			out.Prices = append(out.Prices, Price{QFMin: p.QfMin, QFMax: p.QfMax, PriceCents: p.PriceCents})
		}
	}
	return out
}

func deadlineOf(r booking.DeadlineRule) Deadline {
	return Deadline{DaysBefore: r.DaysBefore, Time: booking.Clock(r.At), Label: r.String()}
}

// Services lists the org's services, inactive ones included, with their prices.
func (s *Store) Services(ctx context.Context, orgID uuid.UUID) ([]Service, error) {
	q := db.New(s.Pool)
	svcs, err := q.ListAllServices(ctx, orgID)
	if err != nil {
		return nil, fmt.Errorf("services: %w", err)
	}
	prices, err := pricesOf(ctx, q, svcs)
	if err != nil {
		return nil, err
	}
	out := make([]Service, 0, len(svcs))
	for _, sv := range svcs {
		out = append(out, View(sv, prices[sv.ID]))
	}
	return out, nil
}

// pricesOf reads the price grids of svcs, by service.
func pricesOf(ctx context.Context, q *db.Queries, svcs []db.Service) (map[uuid.UUID][]db.ServicePrice, error) {
	ids := make([]uuid.UUID, len(svcs))
	for i, sv := range svcs {
		ids[i] = sv.ID
	}
	rows, err := q.ListServicePrices(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("prices: %w", err)
	}
	out := map[uuid.UUID][]db.ServicePrice{}
	for _, p := range rows {
		out[p.ServiceID] = append(out[p.ServiceID], p)
	}
	return out, nil
}

// Get reads a service of the org (ErrNotFound for another org's).
func (s *Store) Get(ctx context.Context, orgID, id uuid.UUID) (db.Service, error) {
	sv, err := db.New(s.Pool).GetService(ctx, db.GetServiceParams{OrgID: orgID, ID: id})
	if db.NotFound(err) {
		return sv, ErrNotFound
	}
	return sv, err
}

// Service reads a service of the org with its prices.
func (s *Store) Service(ctx context.Context, orgID, id uuid.UUID) (Service, error) {
	sv, err := s.Get(ctx, orgID, id)
	if err != nil {
		return Service{}, err
	}
	prices, err := db.New(s.Pool).ListServicePrices(ctx, []uuid.UUID{sv.ID})
	if err != nil {
		return Service{}, fmt.Errorf("prices: %w", err)
	}
	return View(sv, prices), nil
}

// Input is a service as admins write it: on creation every required field
// (code, name, prices), on a change only what changes.
type Input struct {
	Code                 *string      `json:"code"`
	Name                 *string      `json:"name"`
	Description          *string      `json:"description"`
	Weekdays             *[]int16     `json:"weekdays"`
	BookingDeadline      *Deadline    `json:"booking_deadline"`
	CancellationDeadline *Deadline    `json:"cancellation_deadline"`
	WorkingDaysOnly      *bool        `json:"working_days_only"`
	Eligibility          *Eligibility `json:"eligibility"`
	Prices               *[]Price     `json:"prices"`
	Active               *bool        `json:"active"`
	WaitlistOfferHours   *int32       `json:"waitlist_offer_hours"`
}

var serviceCode = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// apply merges in into p and checks the result as a whole.
func (in Input) apply(p *db.CreateServiceParams) check.Fields {
	var bad check.Fields
	if in.Code != nil {
		p.Code = strings.TrimSpace(*in.Code)
	}
	if in.Name != nil {
		p.Name = strings.TrimSpace(*in.Name)
	}
	if in.Description != nil {
		p.Description = strings.TrimSpace(*in.Description)
	}
	if !serviceCode.MatchString(p.Code) {
		bad.Add("code", "1 à 40 caractères parmi a-z, 0-9, - et _")
	}
	if p.Name == "" || len(p.Name) > 100 {
		bad.Add("name", "requis, 100 caractères au plus")
	}
	if len(p.Description) > 1000 {
		bad.Add("description", "1000 caractères au plus")
	}
	if in.Weekdays != nil {
		days := slices.Clone(*in.Weekdays)
		slices.Sort(days)
		p.Weekdays = slices.Compact(days)
		for _, d := range p.Weekdays {
			if d < 1 || d > 7 {
				bad.Add("weekdays", "jours ISO de 1 (lundi) à 7 (dimanche)")
				break
			}
		}
	}
	deadline := func(field string, d *Deadline, days *int32, at *pgtype.Time) {
		if d == nil {
			return
		}
		if d.DaysBefore < 0 || d.DaysBefore > booking.MaxDaysBefore {
			bad.Add(field+".days_before", fmt.Sprintf("entre 0 et %d jours", booking.MaxDaysBefore))
		}
		t, err := booking.ParseClock(d.Time)
		if err != nil {
			bad.Add(field+".time", "heure attendue au format HH:MM")
		}
		*days, *at = int32(d.DaysBefore), pgtype.Time{Microseconds: t.Microseconds(), Valid: true}
	}
	deadline("booking_deadline", in.BookingDeadline, &p.BookingDaysBefore, &p.BookingTime)
	deadline("cancellation_deadline", in.CancellationDeadline, &p.CancelDaysBefore, &p.CancelTime)
	if in.WorkingDaysOnly != nil {
		p.WorkingDaysOnly = *in.WorkingDaysOnly
	}
	if e := in.Eligibility; e != nil {
		p.EligibleSchools, p.EligibleClasses = cleanList(e.Schools), cleanList(e.Classes)
		p.MinAgeMonths, p.MaxAgeMonths = e.MinAgeMonths, e.MaxAgeMonths
	}
	for _, a := range []struct {
		field string
		v     *int32
	}{{"eligibility.min_age_months", p.MinAgeMonths}, {"eligibility.max_age_months", p.MaxAgeMonths}} {
		if a.v != nil && (*a.v < 0 || *a.v > 300) {
			bad.Add(a.field, "entre 0 et 300 mois")
		}
	}
	if p.MinAgeMonths != nil && p.MaxAgeMonths != nil && *p.MinAgeMonths > *p.MaxAgeMonths {
		bad.Add("eligibility.max_age_months", "l'âge maximum précède l'âge minimum")
	}
	if in.Prices != nil {
		brackets := make([]booking.PriceBracket, len(*in.Prices))
		for i, pr := range *in.Prices {
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
			bad.Add(field, be.Message)
		}
	}
	if in.Active != nil {
		p.Active = *in.Active
	}
	if h := in.WaitlistOfferHours; h != nil && (*h < 1 || *h > 336) {
		bad.Add("waitlist_offer_hours", "entre 1 et 336 heures (14 jours)")
	}
	return bad
}

// setOfferHold stores the service's offer hold when in gives one.
func (in Input) setOfferHold(ctx context.Context, q *db.Queries, sv db.Service) (db.Service, error) {
	if in.WaitlistOfferHours == nil {
		return sv, nil
	}
	return q.SetServiceOfferHold(ctx, db.SetServiceOfferHoldParams{OrgID: sv.OrgID, ID: sv.ID, Hours: *in.WaitlistOfferHours})
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

// Create adds a service to the actor's org (admins): code, name and prices are
// required; the rest defaults to the schema's (J-2 before 10:00, any child,
// active). ErrCodeTaken when another service has its code. Audited.
func (s *Store) Create(ctx context.Context, by audit.Actor, in Input) (Service, error) {
	var missing check.Fields
	for field, v := range map[string]bool{"code": in.Code != nil, "name": in.Name != nil, "prices": in.Prices != nil} {
		if !v {
			missing.Add(field, "requis")
		}
	}
	if len(missing) > 0 {
		slices.SortFunc(missing, func(a, b check.Field) int { return strings.Compare(a.Field, b.Field) })
		return Service{}, missing.Err("Champs manquants.")
	}
	tenAM := pgtype.Time{Microseconds: (10 * time.Hour).Microseconds(), Valid: true}
	p := db.CreateServiceParams{
		OrgID: by.OrgID, ID: uuid.New(), Weekdays: []int16{}, BookingDaysBefore: 2, BookingTime: tenAM,
		CancelDaysBefore: 2, CancelTime: tenAM, EligibleSchools: []string{}, EligibleClasses: []string{}, Active: true,
	}
	if err := in.apply(&p).Err("Service invalide."); err != nil {
		return Service{}, err
	}
	var out Service
	err := db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		sv, err := q.CreateService(ctx, p)
		if err != nil {
			return fmt.Errorf("create service: %w", err)
		}
		if sv, err = in.setOfferHold(ctx, q, sv); err != nil {
			return fmt.Errorf("offer hold: %w", err)
		}
		prices, err := replacePrices(ctx, q, sv.ID, *in.Prices)
		if err != nil {
			return err
		}
		out = View(sv, prices)
		return s.record(ctx, q, by, "service.create", sv.ID, nil, out)
	})
	if db.UniqueViolation(err, "") {
		return Service{}, ErrCodeTaken
	}
	return out, err
}

// Update changes a service of the actor's org (admins): only what in gives.
// ErrCodeTaken when another service has its code. Audited.
func (s *Store) Update(ctx context.Context, by audit.Actor, id uuid.UUID, in Input) (Service, error) {
	var out Service
	err := db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		sv, err := q.LockService(ctx, db.LockServiceParams{OrgID: by.OrgID, ID: id})
		if db.NotFound(err) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("lock service: %w", err)
		}
		oldPrices, err := q.ListServicePrices(ctx, []uuid.UUID{sv.ID})
		if err != nil {
			return fmt.Errorf("prices: %w", err)
		}
		before := View(sv, oldPrices)
		p := db.CreateServiceParams{
			OrgID: sv.OrgID, ID: sv.ID, Code: sv.Code, Name: sv.Name, Description: sv.Description, Weekdays: sv.Weekdays,
			BookingDaysBefore: sv.BookingDaysBefore, BookingTime: sv.BookingTime, CancelDaysBefore: sv.CancelDaysBefore,
			CancelTime: sv.CancelTime, WorkingDaysOnly: sv.WorkingDaysOnly, EligibleSchools: sv.EligibleSchools,
			EligibleClasses: sv.EligibleClasses, MinAgeMonths: sv.MinAgeMonths, MaxAgeMonths: sv.MaxAgeMonths, Active: sv.Active,
		}
		if err := in.apply(&p).Err("Service invalide."); err != nil {
			return err
		}
		if sv, err = q.UpdateService(ctx, db.UpdateServiceParams{
			OrgID: p.OrgID, ID: p.ID, Code: p.Code, Name: p.Name, Description: p.Description, Weekdays: p.Weekdays,
			BookingDaysBefore: p.BookingDaysBefore, BookingTime: p.BookingTime, CancelDaysBefore: p.CancelDaysBefore,
			CancelTime: p.CancelTime, WorkingDaysOnly: p.WorkingDaysOnly, EligibleSchools: p.EligibleSchools,
			EligibleClasses: p.EligibleClasses, MinAgeMonths: p.MinAgeMonths, MaxAgeMonths: p.MaxAgeMonths, Active: p.Active,
		}); err != nil {
			return fmt.Errorf("update service: %w", err)
		}
		if sv, err = in.setOfferHold(ctx, q, sv); err != nil {
			return fmt.Errorf("offer hold: %w", err)
		}
		prices := oldPrices
		if in.Prices != nil {
			if prices, err = replacePrices(ctx, q, sv.ID, *in.Prices); err != nil {
				return err
			}
		}
		out = View(sv, prices)
		return s.record(ctx, q, by, "service.update", sv.ID, before, out)
	})
	if db.UniqueViolation(err, "") {
		return Service{}, ErrCodeTaken
	}
	return out, err
}

func replacePrices(ctx context.Context, q *db.Queries, serviceID uuid.UUID, prices []Price) ([]db.ServicePrice, error) {
	if err := q.DeleteServicePrices(ctx, serviceID); err != nil {
		return nil, fmt.Errorf("delete prices: %w", err)
	}
	for _, p := range prices {
		if err := q.InsertServicePrice(ctx, db.InsertServicePriceParams{
			ID: uuid.New(), ServiceID: serviceID, QfMin: p.QFMin, QfMax: p.QFMax, PriceCents: p.PriceCents,
		}); err != nil {
			return nil, fmt.Errorf("insert price: %w", err)
		}
	}
	return q.ListServicePrices(ctx, []uuid.UUID{serviceID})
}

func (s *Store) record(ctx context.Context, q *db.Queries, by audit.Actor, action string, id uuid.UUID, before, after any) error {
	return audit.Record(ctx, q, audit.Entry{OrgID: by.OrgID, Actor: &by.UserID, Action: action, Entity: "service",
		EntityID: id.String(), Before: before, After: after, At: s.Now.Time()})
}
