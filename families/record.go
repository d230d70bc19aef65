package families

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/enfance/enfance/accounts"
	"github.com/enfance/enfance/audit"
	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/check"
	"github.com/enfance/enfance/db"
)

// The fiche famille: the family's record and its members, kept by staff (and, for
// its contact details, by the family itself). Every change is audited with the
// record before and after.

// ErrQFForbidden: the quotient familial sets the family's prices, a decision of
// finance (or an admin), not of the desk.
var ErrQFForbidden = errors.New("changing the QF needs the finance role")

// Family is the record as the family, staff and the audit log read it.
type Family struct {
	ID         uuid.UUID `json:"id"`
	Name       string    `json:"name"`
	Email      string    `json:"email"`
	Phone      string    `json:"phone"`
	Phone2     string    `json:"phone2"`
	Address    string    `json:"address"`
	PostalCode string    `json:"postal_code"`
	City       string    `json:"city"`
	QF         int32     `json:"qf"`
}

// View is f as the family, staff and the audit log read it.
func View(f db.Family) Family {
	return Family{ID: f.ID, Name: f.Name, Email: f.Email, Phone: f.Phone, Phone2: f.Phone2,
		Address: f.Address, PostalCode: f.PostalCode, City: f.City, QF: f.Qf}
}

// Member is a member as the family reads it.
type Member struct {
	ID        uuid.UUID `json:"id"`
	Kind      string    `json:"kind"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	BirthDate *string   `json:"birth_date"`
	School    string    `json:"school,omitempty"`
	ClassName string    `json:"class_name,omitempty"`
}

// MemberView is m as the family reads it.
func MemberView(m db.Member) Member {
	out := Member{ID: m.ID, Kind: m.Kind, FirstName: m.FirstName, LastName: m.LastName, School: m.School, ClassName: m.ClassName}
	if m.BirthDate != nil {
		d := m.BirthDate.Format(time.DateOnly)
		out.BirthDate = &d
	}
	return out
}

// StaffMember is a member as staff and the audit log read it: with what the
// day's list prints.
type StaffMember struct {
	Member
	Allergies string `json:"allergies"`
	Notes     string `json:"notes"`
}

// StaffMemberView is m as staff read it.
func StaffMemberView(m db.Member) StaffMember {
	return StaffMember{Member: MemberView(m), Allergies: m.Allergies, Notes: m.Notes}
}

// ContactPatch holds the contact fields a family may edit; nil keeps a value.
type ContactPatch struct {
	Email      *string `json:"email"`
	Phone      *string `json:"phone"`
	Phone2     *string `json:"phone2"`
	Address    *string `json:"address"`
	PostalCode *string `json:"postal_code"`
	City       *string `json:"city"`
}

// set checks v (trimmed) and writes it to dst; a refusal goes to bad.
func set(bad *check.Fields, dst *string, v *string, field string, rule func(string) string) {
	if v == nil {
		return
	}
	val := strings.TrimSpace(*v)
	if msg := rule(val); msg != "" {
		bad.Add(field, msg)
		return
	}
	*dst = val
}

// apply checks p and writes it over f.
func (p ContactPatch) apply(f *db.Family, bad *check.Fields) {
	set(bad, &f.Email, p.Email, "email", check.Email)
	set(bad, &f.Phone, p.Phone, "phone", check.Phone)
	set(bad, &f.Phone2, p.Phone2, "phone2", check.Phone)
	set(bad, &f.Address, p.Address, "address", check.MaxLen(200))
	set(bad, &f.PostalCode, p.PostalCode, "postal_code", check.PostalCode)
	set(bad, &f.City, p.City, "city", check.MaxLen(100))
}

// MemberInput is a member as staff write it; on a change nil keeps a value.
type MemberInput struct {
	Kind      *string `json:"kind"`
	FirstName *string `json:"first_name"`
	LastName  *string `json:"last_name"`
	BirthDate *string `json:"birth_date"` // YYYY-MM-DD, "" to clear
	School    *string `json:"school"`
	ClassName *string `json:"class_name"`
	Allergies *string `json:"allergies"` // printed on the day's list
	Notes     *string `json:"notes"`     // idem: diet, PAI, who must not collect …
}

// apply checks in and writes it over m; prefix names the fields in refusals.
func (in MemberInput) apply(m *db.Member, prefix string, bad *check.Fields) {
	set(bad, &m.Kind, in.Kind, prefix+"kind", func(v string) string {
		if v != "adult" && v != "child" {
			return "adult ou child"
		}
		return ""
	})
	set(bad, &m.FirstName, in.FirstName, prefix+"first_name", check.Required(100))
	set(bad, &m.LastName, in.LastName, prefix+"last_name", check.Required(100))
	set(bad, &m.School, in.School, prefix+"school", check.MaxLen(100))
	set(bad, &m.ClassName, in.ClassName, prefix+"class_name", check.MaxLen(50))
	set(bad, &m.Allergies, in.Allergies, prefix+"allergies", check.MaxLen(500))
	set(bad, &m.Notes, in.Notes, prefix+"notes", check.MaxLen(1000))
	if in.BirthDate != nil {
		if *in.BirthDate == "" {
			m.BirthDate = nil
		} else if d, err := booking.ParseDay(*in.BirthDate); err != nil || d.Year() < 1900 {
			bad.Add(prefix+"birth_date", "date attendue au format AAAA-MM-JJ")
		} else {
			m.BirthDate = &d
		}
	}
	if m.Kind == "" {
		bad.Add(prefix+"kind", "requis (adult ou child)")
	}
	if m.FirstName == "" && in.FirstName == nil {
		bad.Add(prefix+"first_name", "requis")
	}
	if m.LastName == "" && in.LastName == nil {
		bad.Add(prefix+"last_name", "requis")
	}
	if m.Kind == "child" && m.BirthDate == nil {
		bad.Add(prefix+"birth_date", "requise pour un enfant (âge des prestations)")
	}
}

// Input is a family as staff write it; on a change nil keeps a value.
type Input struct {
	Name *string `json:"name"`
	QF   *int32  `json:"qf"`
	ContactPatch
	Members      []MemberInput `json:"members"`       // creation only
	AccountLogin string        `json:"account_login"` // creation only: e-mail of a family login to create
}

// apply checks in and writes it over f.
func (in Input) apply(f *db.Family, bad *check.Fields) {
	in.ContactPatch.apply(f, bad)
	if in.Name != nil {
		set(bad, &f.Name, in.Name, "name", check.Required(200))
	} else if f.Name == "" {
		bad.Add("name", "requis")
	}
	if in.QF != nil {
		if *in.QF < 0 || *in.QF > 100000 {
			bad.Add("qf", "quotient familial entre 0 et 100000")
		} else {
			f.Qf = *in.QF
		}
	}
}

func (s *Store) record(ctx context.Context, q *db.Queries, by audit.Actor, action, entity string, id uuid.UUID, before, after any) error {
	return audit.Record(ctx, q, audit.Entry{OrgID: by.OrgID, Actor: &by.UserID, Action: action, Entity: entity,
		EntityID: id.String(), Before: before, After: after, At: s.now()})
}

// Created is a new family and, when a login was asked for, its set-password link
// for the caller to e-mail.
type Created struct {
	Family db.Family
	Link   *accounts.Link
}

// Create records a family of the actor's org with its members and, given
// AccountLogin, its login (accounts.ErrLoginTaken when it is someone's). Audited.
func (s *Store) Create(ctx context.Context, by audit.Actor, in Input) (Created, error) {
	f := db.Family{ID: uuid.New(), OrgID: by.OrgID}
	var bad check.Fields
	in.apply(&f, &bad)
	members := make([]db.Member, len(in.Members))
	for i, m := range in.Members {
		members[i] = db.Member{ID: uuid.New(), OrgID: by.OrgID, FamilyID: f.ID}
		m.apply(&members[i], "members["+strconv.Itoa(i)+"].", &bad)
	}
	login := strings.TrimSpace(in.AccountLogin)
	bad.Add("account_login", check.Email(login))
	if err := bad.Err("Fiche famille invalide."); err != nil {
		return Created{}, err
	}
	var out Created
	err := db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		var err error
		if out.Family, err = q.CreateFamily(ctx, db.CreateFamilyParams{ID: f.ID, OrgID: f.OrgID, Name: f.Name, Email: f.Email, Phone: f.Phone,
			Phone2: f.Phone2, Address: f.Address, PostalCode: f.PostalCode, City: f.City, Qf: f.Qf}); err != nil {
			return fmt.Errorf("create family: %w", err)
		}
		after := map[string]any{"family": View(out.Family)}
		created := []StaffMember{}
		for _, m := range members {
			cm, err := createMember(ctx, q, m)
			if err != nil {
				return err
			}
			created = append(created, StaffMemberView(cm))
		}
		after["members"] = created
		if login != "" {
			u, link, err := accounts.CreateUser(ctx, q, db.CreateUserParams{ID: uuid.New(), OrgID: by.OrgID, Login: login,
				Role: accounts.RoleFamily, FamilyID: &f.ID}, s.now())
			if errors.Is(err, accounts.ErrLoginTaken) {
				return &LoginTakenError{Field: "account_login"}
			} else if err != nil {
				return err
			}
			out.Link = &link
			after["account"] = accounts.View(u)
		}
		return s.record(ctx, q, by, "family.create", "family", f.ID, nil, after)
	})
	return out, err
}

// LoginTakenError is accounts.ErrLoginTaken about one field of the request.
type LoginTakenError struct{ Field string }

func (e *LoginTakenError) Error() string { return e.Field + ": login already used" }
func (e *LoginTakenError) Unwrap() error { return accounts.ErrLoginTaken }

func createMember(ctx context.Context, q *db.Queries, m db.Member) (db.Member, error) {
	out, err := q.CreateMember(ctx, db.CreateMemberParams{ID: m.ID, OrgID: m.OrgID, FamilyID: m.FamilyID, Kind: m.Kind,
		FirstName: m.FirstName, LastName: m.LastName, BirthDate: m.BirthDate, School: m.School, ClassName: m.ClassName,
		Allergies: m.Allergies, Notes: m.Notes})
	if err != nil {
		return out, fmt.Errorf("create member: %w", err)
	}
	return out, nil
}

// lockFamily locks a family of the org, ErrNotFound for another org's.
func lockFamily(ctx context.Context, q *db.Queries, orgID, id uuid.UUID) (db.Family, error) {
	f, err := q.LockFamily(ctx, db.LockFamilyParams{OrgID: orgID, ID: id})
	if db.NotFound(err) {
		return f, ErrNotFound
	} else if err != nil {
		return f, fmt.Errorf("lock family: %w", err)
	}
	return f, nil
}

// Update changes a family's name, contact details and QF (mayChangeQF: finance
// and admin; ErrQFForbidden otherwise). Members and logins change through their
// own calls. Audited, a QF change as such.
func (s *Store) Update(ctx context.Context, by audit.Actor, id uuid.UUID, in Input, mayChangeQF bool) (db.Family, error) {
	var out db.Family
	err := db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		before, err := lockFamily(ctx, q, by.OrgID, id)
		if err != nil {
			return err
		}
		if in.Members != nil || in.AccountLogin != "" {
			return check.Invalid("Les membres et les comptes se modifient par leurs propres routes.", "members", "non modifiable ici")
		}
		f := before
		var bad check.Fields
		in.apply(&f, &bad)
		if err := bad.Err("Fiche famille invalide."); err != nil {
			return err
		}
		action := "family.update"
		if f.Qf != before.Qf {
			// The QF sets the family's prices: finance's decision, traced on its own.
			if !mayChangeQF {
				return ErrQFForbidden
			}
			action = "family.qf_change"
		}
		if out, err = q.UpdateFamily(ctx, db.UpdateFamilyParams{OrgID: by.OrgID, ID: id, Name: f.Name, Email: f.Email, Phone: f.Phone,
			Phone2: f.Phone2, Address: f.Address, PostalCode: f.PostalCode, City: f.City, Qf: f.Qf}); err != nil {
			return fmt.Errorf("update family: %w", err)
		}
		return s.record(ctx, q, by, action, "family", id, View(before), View(out))
	})
	return out, err
}

// UpdateContact is the family changing its own phones, e-mail and address. Audited.
func (s *Store) UpdateContact(ctx context.Context, by audit.Actor, familyID uuid.UUID, p ContactPatch) (db.Family, error) {
	var out db.Family
	err := db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		before, err := lockFamily(ctx, q, by.OrgID, familyID)
		if err != nil {
			return err
		}
		after := before
		var bad check.Fields
		p.apply(&after, &bad)
		if err := bad.Err("Coordonnées invalides."); err != nil {
			return err
		}
		if out, err = q.UpdateFamilyContact(ctx, db.UpdateFamilyContactParams{
			OrgID: by.OrgID, ID: before.ID, Email: after.Email, Phone: after.Phone, Phone2: after.Phone2,
			Address: after.Address, PostalCode: after.PostalCode, City: after.City,
		}); err != nil {
			return fmt.Errorf("update family: %w", err)
		}
		return s.record(ctx, q, by, "family.contact_update", "family", before.ID, View(before), View(out))
	})
	return out, err
}

// AddMember adds a member to a family of the actor's org. Audited.
func (s *Store) AddMember(ctx context.Context, by audit.Actor, familyID uuid.UUID, in MemberInput) (db.Member, error) {
	var out db.Member
	err := db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		if _, err := lockFamily(ctx, q, by.OrgID, familyID); err != nil {
			return err
		}
		m := db.Member{ID: uuid.New(), OrgID: by.OrgID, FamilyID: familyID}
		var bad check.Fields
		in.apply(&m, "", &bad)
		if err := bad.Err("Membre invalide."); err != nil {
			return err
		}
		var err error
		if out, err = createMember(ctx, q, m); err != nil {
			return err
		}
		return s.record(ctx, q, by, "member.create", "member", out.ID, nil,
			map[string]any{"family_id": familyID, "member": StaffMemberView(out)})
	})
	return out, err
}

// UpdateMember changes a member of a family of the actor's org. Audited.
func (s *Store) UpdateMember(ctx context.Context, by audit.Actor, familyID, memberID uuid.UUID, in MemberInput) (db.Member, error) {
	var out db.Member
	err := db.InTx(ctx, s.Pool, func(q *db.Queries) error {
		before, err := q.LockMember(ctx, db.LockMemberParams{OrgID: by.OrgID, FamilyID: familyID, ID: memberID})
		if db.NotFound(err) {
			return ErrNotFound
		} else if err != nil {
			return fmt.Errorf("lock member: %w", err)
		}
		m := before
		var bad check.Fields
		in.apply(&m, "", &bad)
		if err := bad.Err("Membre invalide."); err != nil {
			return err
		}
		if out, err = q.UpdateMember(ctx, db.UpdateMemberParams{OrgID: by.OrgID, FamilyID: familyID, ID: memberID, Kind: m.Kind,
			FirstName: m.FirstName, LastName: m.LastName, BirthDate: m.BirthDate, School: m.School, ClassName: m.ClassName,
			Allergies: m.Allergies, Notes: m.Notes}); err != nil {
			return fmt.Errorf("update member: %w", err)
		}
		return s.record(ctx, q, by, "member.update", "member", memberID,
			map[string]any{"family_id": familyID, "member": StaffMemberView(before)}, map[string]any{"family_id": familyID, "member": StaffMemberView(out)})
	})
	return out, err
}
