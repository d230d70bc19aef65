// Package demo loads the fixed demo data of `enfance dev`: one org, its services
// for the 2026-2027 school year, two families and the staff. It exists only for dev
// and tests; no production command reaches it.
package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/ledger"
	"github.com/enfance/enfance/password"
)

// OrgSlug identifies the demo org; its presence means the demo is loaded.
const OrgSlug = "demo"

// Login is a demo account, printed by `enfance dev`.
type Login struct{ Login, Password, Role, Who string }

// Logins are the demo accounts. These passwords exist only in dev.
var Logins = []Login{
	{"martin@demo.enfance.test", "demo-martin-2026", "family", "famille Martin (2 enfants, QF 650)"},
	{"bernard@demo.enfance.test", "demo-bernard-2026", "family", "famille Bernard (1 enfant, QF 1400, 5,00 € de cagnotte)"},
	{"agent@demo.enfance.test", "demo-staff-2026", "agent", "agent d'accueil"},
	{"finance@demo.enfance.test", "demo-staff-2026", "finance", "régisseur / finances"},
	{"admin@demo.enfance.test", "demo-staff-2026", "admin", "administrateur"},
}

// School year of the demo.
var (
	YearStart = date(2026, 9, 1)
	YearEnd   = date(2027, 7, 3)
)

// schoolHolidays are the demo's school holidays (zone C calendar, rounded to whole
// weeks); public holidays come from the holiday library.
var schoolHolidays = []struct {
	first, last time.Time
	label       string
}{
	{date(2026, 10, 17), date(2026, 11, 1), "Vacances de la Toussaint"},
	{date(2026, 12, 19), date(2027, 1, 3), "Vacances de Noël"},
	{date(2027, 2, 13), date(2027, 2, 28), "Vacances d'hiver"},
	{date(2027, 4, 10), date(2027, 4, 25), "Vacances de printemps"},
	{date(2027, 5, 6), date(2027, 5, 9), "Pont de l'Ascension"},
}

type price struct {
	qfMin int32
	qfMax *int32
	cents int64
}

func brackets(high, mid, low int64) []price {
	b1, b2 := int32(700), int32(1200)
	return []price{{0, &b1, low}, {701, &b2, mid}, {1201, nil, high}}
}

var services = []struct {
	code, name, description string
	weekdays                []int16
	capacity                *int32
	prices                  []price
}{
	{"cantine", "Restauration scolaire", "Repas du midi", []int16{1, 2, 4, 5}, nil, brackets(380, 290, 150)},
	{"matin", "Accueil périscolaire matin", "7h30 – 8h30", []int16{1, 2, 4, 5}, nil, brackets(180, 120, 80)},
	{"soir", "Accueil périscolaire soir", "16h30 – 18h30", []int16{1, 2, 4, 5}, nil, brackets(250, 180, 100)},
	{"mercredi", "Mercredis loisirs", "Journée au centre de loisirs", []int16{3}, ptr(int32(24)), brackets(1200, 800, 500)},
}

// Load writes the demo data once; a second call finds the org and does nothing.
// It reports whether it loaded anything.
func Load(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	q := db.New(pool)
	if _, err := q.GetOrgBySlug(ctx, OrgSlug); err == nil {
		return false, nil
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return false, fmt.Errorf("look for demo org: %w", err)
	}
	hashes := map[string]string{}
	for _, l := range Logins {
		if _, ok := hashes[l.Password]; ok {
			continue
		}
		h, err := password.Hash(ctx, l.Password)
		if err != nil {
			return false, fmt.Errorf("hash demo password: %w", err)
		}
		hashes[l.Password] = h
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		return load(ctx, db.New(tx), hashes)
	})
	if err != nil {
		return false, fmt.Errorf("load demo data: %w", err)
	}
	return true, nil
}

func load(ctx context.Context, q *db.Queries, hashes map[string]string) error {
	org := uuid.New()
	if err := q.InsertOrg(ctx, db.InsertOrgParams{
		ID: org, Slug: OrgSlug, Name: "Ville de Démo", Numcli: "123456", Saisie: "T",
		TimeZone: "Europe/Paris", Email: "enfance@demo.enfance.test",
		Address: "Hôtel de ville, 1 place de la Mairie, 99999 Démo",
	}); err != nil {
		return err
	}

	for d := YearStart; !d.After(YearEnd); d = d.AddDate(0, 0, 1) {
		if booking.IsPublicHoliday(d) {
			if err := q.InsertClosure(ctx, db.InsertClosureParams{
				ID: uuid.New(), OrgID: org, FirstDay: d, LastDay: d, Label: "Jour férié",
			}); err != nil {
				return err
			}
		}
	}
	for _, h := range schoolHolidays {
		if err := q.InsertClosure(ctx, db.InsertClosureParams{
			ID: uuid.New(), OrgID: org, FirstDay: h.first, LastDay: h.last, Label: h.label,
		}); err != nil {
			return err
		}
	}

	tenAM := pgtype.Time{Microseconds: int64(10 * time.Hour / time.Microsecond), Valid: true}
	for _, s := range services {
		id := uuid.New()
		if err := q.InsertService(ctx, db.InsertServiceParams{
			ID: id, OrgID: org, Code: s.code, Name: s.name, Description: s.description,
			Weekdays: s.weekdays, BookingDaysBefore: 2, BookingTime: tenAM,
			CancelDaysBefore: 2, CancelTime: tenAM, WorkingDaysOnly: true,
		}); err != nil {
			return err
		}
		for _, p := range s.prices {
			if err := q.InsertServicePrice(ctx, db.InsertServicePriceParams{
				ID: uuid.New(), ServiceID: id, QfMin: p.qfMin, QfMax: p.qfMax, PriceCents: p.cents,
			}); err != nil {
				return err
			}
		}
		if _, err := q.GenerateServiceDays(ctx, db.GenerateServiceDaysParams{
			Capacity: s.capacity, FirstDay: YearStart, LastDay: YearEnd, ServiceID: id,
		}); err != nil {
			return err
		}
	}

	martin, err := family(ctx, q, org, "Martin", "martin@demo.enfance.test", 650, "12 rue des Écoles")
	if err != nil {
		return err
	}
	bernard, err := family(ctx, q, org, "Bernard", "bernard@demo.enfance.test", 1400, "3 allée des Tilleuls")
	if err != nil {
		return err
	}
	members := []db.InsertMemberParams{
		{FamilyID: martin, Kind: "adult", FirstName: "Claire", LastName: "Martin", BirthDate: ptr(date(1986, 5, 4))},
		{FamilyID: martin, Kind: "adult", FirstName: "Thomas", LastName: "Martin", BirthDate: ptr(date(1984, 11, 19))},
		{FamilyID: martin, Kind: "child", FirstName: "Léa", LastName: "Martin", BirthDate: ptr(date(2017, 3, 14)), School: "École Jules Ferry", ClassName: "CM1"},
		{FamilyID: martin, Kind: "child", FirstName: "Hugo", LastName: "Martin", BirthDate: ptr(date(2019, 9, 2)), School: "École Jules Ferry", ClassName: "CP"},
		{FamilyID: bernard, Kind: "adult", FirstName: "Sophie", LastName: "Bernard", BirthDate: ptr(date(1982, 2, 27))},
		{FamilyID: bernard, Kind: "child", FirstName: "Chloé", LastName: "Bernard", BirthDate: ptr(date(2016, 6, 21)), School: "École Jules Ferry", ClassName: "CM2"},
	}
	for _, m := range members {
		m.ID, m.OrgID = uuid.New(), org
		if err := q.InsertMember(ctx, m); err != nil {
			return err
		}
	}

	for _, l := range Logins {
		u := db.InsertUserParams{
			ID: uuid.New(), OrgID: org, Login: l.Login, PasswordHash: hashes[l.Password],
			Role: l.Role, DisplayName: l.Who,
		}
		switch l.Login {
		case "martin@demo.enfance.test":
			u.FamilyID = &martin
		case "bernard@demo.enfance.test":
			u.FamilyID = &bernard
		}
		if err := q.InsertUser(ctx, u); err != nil {
			return err
		}
	}

	return ledger.Write(ctx, q, ledger.Adjustment(org, bernard, 0, 500, "demo:bernard:credit", "Cagnotte de démonstration", "", nil, time.Now()))
}

func family(ctx context.Context, q *db.Queries, org uuid.UUID, name, email string, qf int32, street string) (uuid.UUID, error) {
	id := uuid.New()
	return id, q.InsertFamily(ctx, db.InsertFamilyParams{
		ID: id, OrgID: org, Name: name, Email: email, Phone: "06 00 00 00 00",
		Address: street, PostalCode: "99999", City: "Démo", Qf: qf,
	})
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func ptr[T any](v T) *T { return &v }

// FullDay makes one Wednesday of the leisure centre full, the first a fortnight
// or more after today: its capacity is brought down to the places taken. A
// parent trying `enfance dev` meets « Complet » there and its waiting list; an
// agent who raises the day's capacity in the back office (Services → Mercredis
// loisirs → Jours) offers the freed place to the first child on the list. Only
// `dev` and `cluster` call it, once, when they load the demo: the tests' demo
// has no full day. No day left in the school year: nothing changes (zero day).
func FullDay(ctx context.Context, pool *pgxpool.Pool, today time.Time) (time.Time, error) {
	q := db.New(pool)
	org, err := q.GetOrgBySlug(ctx, OrgSlug)
	if err != nil {
		return time.Time{}, fmt.Errorf("demo org: %w", err)
	}
	day, err := q.FillFirstServiceDayFrom(ctx, db.FillFirstServiceDayFromParams{
		OrgID: org.ID, ServiceCode: "mercredi", FromDay: today.AddDate(0, 0, 14),
	})
	if db.NotFound(err) {
		return time.Time{}, nil
	}
	return day, err
}
