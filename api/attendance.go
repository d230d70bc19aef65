package api

import (
	"encoding/csv"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/enfance/enfance/attendance"
	"github.com/enfance/enfance/booking"
	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/document"
)

// The service day as the canteen and the accueil live it: the day's list (JSON,
// PDF, CSV), the attendance sheet, the rule for presences without a reservation
// and the numbers of the coming days. The rules live in package attendance.

func (s *Server) attendanceRoutes(r routes) {
	r.staff.GET("/services/:id/days/:date/children", s.dayChildren)
	r.staff.GET("/services/:id/days/:date/children.pdf", s.dayChildrenPDF)
	r.staff.GET("/services/:id/days/:date/children.csv", s.dayChildrenCSV)
	r.staff.PUT("/services/:id/days/:date/attendance", s.recordAttendance)
	r.money.PUT("/services/:id/attendance-rule", s.putAttendanceRule)
	r.staff.GET("/day-counts", s.dayCounts)
	r.staff.GET("/children", s.searchChildren)
}

type dayChildJSON struct {
	ReservationID *uuid.UUID             `json:"reservation_id"` // null: present without a reservation
	ChildID       uuid.UUID              `json:"child_id"`
	FirstName     string                 `json:"first_name"`
	LastName      string                 `json:"last_name"`
	School        string                 `json:"school"`
	ClassName     string                 `json:"class_name"`
	BirthDate     *string                `json:"birth_date"`
	Allergies     string                 `json:"allergies"`
	Notes         string                 `json:"notes"`
	FamilyID      uuid.UUID              `json:"family_id"`
	FamilyName    string                 `json:"family_name"`
	FamilyPhone   string                 `json:"family_phone"`
	FamilyPhones  []string               `json:"family_phones"`
	MayCollect    []attendance.Collector `json:"may_collect"`
	Source        db.ReservationSource   `json:"source,omitempty"`
	Attendance    *db.AttendanceStatus   `json:"attendance"` // present, absent, or null when not ticked yet
	Reason        string                 `json:"reason,omitempty"`
	ChargedCents  int64                  `json:"charged_cents,omitempty"`
}

type ruleJSON struct {
	attendance.Rule
	Label string `json:"label"`
}

func ruleView(r attendance.Rule) ruleJSON { return ruleJSON{Rule: r, Label: r.Label()} }

type dayListJSON struct {
	ServiceID    uuid.UUID      `json:"service_id"`
	ServiceName  string         `json:"service_name"`
	Date         string         `json:"date"`
	Scheduled    bool           `json:"scheduled"` // the service has this day in its calendar
	Open         bool           `json:"open"`
	Capacity     *int32         `json:"capacity"`
	Taken        int32          `json:"taken"`
	HeldInCarts  int32          `json:"held_in_carts"` // places held by carts not paid yet
	Children     []dayChildJSON `json:"children"`      // the confirmed reservations
	Unbooked     []dayChildJSON `json:"unbooked"`      // ticked present without a reservation
	Ticked       int            `json:"ticked"`        // children of the list already ticked
	UnbookedRule ruleJSON       `json:"unbooked_rule"`
}

func dayChildOf(c attendance.Child) dayChildJSON {
	out := dayChildJSON{
		ReservationID: c.ReservationID, ChildID: c.ChildID, FirstName: c.FirstName, LastName: c.LastName, School: c.School,
		ClassName: c.ClassName, Allergies: c.Allergies, Notes: c.Notes, FamilyID: c.FamilyID, FamilyName: c.FamilyName,
		FamilyPhones: c.FamilyPhones, MayCollect: c.MayCollect, Source: c.Source, Reason: c.Reason, ChargedCents: c.ChargedCents,
	}
	if len(c.FamilyPhones) > 0 {
		out.FamilyPhone = c.FamilyPhones[0]
	}
	if out.MayCollect == nil {
		out.MayCollect = []attendance.Collector{}
	}
	if c.BirthDate != nil {
		d := c.BirthDate.Format(time.DateOnly)
		out.BirthDate = &d
	}
	if c.Status != "" {
		st := c.Status
		out.Attendance = &st
	}
	return out
}

func dayListView(l attendance.DayList) dayListJSON {
	out := dayListJSON{
		ServiceID: l.Service.ID, ServiceName: l.Service.Name, Date: l.Day.Format(time.DateOnly), Scheduled: l.Scheduled,
		Open: l.Open, Capacity: l.Capacity, Taken: l.Taken, Children: []dayChildJSON{}, Unbooked: []dayChildJSON{},
		Ticked: l.Ticked(), UnbookedRule: ruleView(l.Rule),
	}
	for _, c := range l.Expected {
		out.Children = append(out.Children, dayChildOf(c))
	}
	for _, c := range l.Unbooked {
		out.Unbooked = append(out.Unbooked, dayChildOf(c))
	}
	out.HeldInCarts = max(out.Taken-int32(len(out.Children)), 0)
	return out
}

// dayList reads the :id service's :date list, answering the problem itself.
func (s *Server) dayList(c *gin.Context) (attendance.DayList, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return attendance.DayList{}, false
	}
	day, err := booking.ParseDay(c.Param("date"))
	if err != nil {
		fail(c, s.log, badRequest("Date attendue au format AAAA-MM-JJ.", FieldError{Field: "date", Message: "format AAAA-MM-JJ"}))
		return attendance.DayList{}, false
	}
	l, err := s.attendance.Day(c, callerOf(c).OrgID, id, day)
	if err != nil {
		fail(c, s.log, err)
		return l, false
	}
	return l, true
}

// dayChildren is the list of children of a service day: those expected, then those
// ticked present without a reservation.
func (s *Server) dayChildren(c *gin.Context) {
	if l, ok := s.dayList(c); ok {
		c.JSON(http.StatusOK, dayListView(l))
	}
}

// printed is the day's list as the PDF and the CSV give it: expected children,
// then presences without a reservation.
func printed(l attendance.DayList) []document.DayListChild {
	out := []document.DayListChild{}
	for _, group := range [][]attendance.Child{l.Expected, l.Unbooked} {
		for _, ch := range group {
			class := strings.Join(nonEmptyStrings(ch.ClassName, ch.School), " – ")
			family := strings.Join(append([]string{"Famille " + ch.FamilyName}, ch.FamilyPhones...), " – ")
			var collect []string
			for _, p := range ch.MayCollect {
				who := p.Name
				if p.Relationship != "" {
					who += " (" + p.Relationship + ")"
				}
				if p.Phone != "" {
					who += " " + p.Phone
				}
				collect = append(collect, who)
			}
			out = append(out, document.DayListChild{
				Name: strings.ToUpper(ch.LastName) + " " + ch.FirstName, Class: class, Allergies: ch.Allergies, Notes: ch.Notes,
				Family: family, MayCollect: collect, Status: string(ch.Status), Unbooked: ch.Reason,
			})
		}
	}
	return out
}

func nonEmptyStrings(vals ...string) []string {
	out := []string{}
	for _, v := range vals {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

func dayListFile(l attendance.DayList, ext string) string {
	return "liste-" + l.Service.Code + "-" + l.Day.Format(time.DateOnly) + ext
}

// dayChildrenPDF is the day's list to print (landscape A4).
func (s *Server) dayChildrenPDF(c *gin.Context) {
	l, ok := s.dayList(c)
	if !ok {
		return
	}
	org, err := s.orgs.Get(c, callerOf(c).OrgID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	loc, err := org.Zone()
	if err != nil {
		fail(c, s.log, err)
		return
	}
	pdf, err := document.RenderDayList(document.DayList{
		Org: org.Name, Service: l.Service.Name, Day: l.Day, Capacity: l.Capacity, Children: printed(l), PrintedAt: s.now(), Location: loc,
	})
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="`+dayListFile(l, ".pdf")+`"`)
	c.Data(http.StatusOK, "application/pdf", pdf)
}

// dayListColumns of the day's CSV: semicolon-separated, UTF-8 with a byte-order
// mark, as the month's export.
var dayListColumns = []string{"nom", "prenom", "classe", "ecole", "allergies", "remarques", "famille", "telephones",
	"personnes_autorisees", "reservation", "pointage", "motif_sans_reservation"}

// dayChildrenCSV is the day's list as a spreadsheet.
func (s *Server) dayChildrenCSV(c *gin.Context) {
	l, ok := s.dayList(c)
	if !ok {
		return
	}
	var b strings.Builder
	b.WriteString("\ufeff")
	w := csv.NewWriter(&b)
	w.Comma, w.UseCRLF = ';', true
	_ = w.Write(dayListColumns)
	for _, group := range [][]attendance.Child{l.Expected, l.Unbooked} {
		for _, ch := range group {
			var collect []string
			for _, p := range ch.MayCollect {
				collect = append(collect, strings.TrimSpace(p.Name+" "+p.Phone))
			}
			booked := "oui"
			if ch.ReservationID == nil {
				booked = "non"
			}
			_ = w.Write([]string{ch.LastName, ch.FirstName, ch.ClassName, ch.School, ch.Allergies, ch.Notes, ch.FamilyName,
				strings.Join(ch.FamilyPhones, ", "), strings.Join(collect, ", "), booked, string(ch.Status), ch.Reason})
		}
	}
	w.Flush()
	c.Header("Content-Disposition", `attachment; filename="`+dayListFile(l, ".csv")+`"`)
	c.Data(http.StatusOK, "text/csv; charset=utf-8", []byte(b.String()))
}

type attendanceRequest struct {
	Marks []attendance.Mark `json:"marks"`
}

// recordAttendance saves ticks of a day's sheet, all or none, and answers the
// list as it is now with what the save charged and gave back.
func (s *Server) recordAttendance(c *gin.Context) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	day, err := booking.ParseDay(c.Param("date"))
	if err != nil {
		fail(c, s.log, badRequest("Date attendue au format AAAA-MM-JJ.", FieldError{Field: "date", Message: "format AAAA-MM-JJ"}))
		return
	}
	var req attendanceRequest
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Le corps doit être {\"marks\": [{\"child_id\", \"present\", \"reason\"}]}."))
		return
	}
	var fields []FieldError
	if len(req.Marks) == 0 || len(req.Marks) > 500 {
		fields = append(fields, FieldError{Field: "marks", Message: "entre 1 et 500 enfants"})
	}
	for i, m := range req.Marks {
		if len([]rune(strings.TrimSpace(m.Reason))) > 500 {
			fields = append(fields, FieldError{Field: "marks[" + strconv.Itoa(i) + "].reason", Message: "500 caractères au plus"})
		}
	}
	if len(fields) > 0 {
		fail(c, s.log, badRequest("Pointage invalide.", fields...))
		return
	}
	who := callerOf(c)
	rec, err := s.attendance.Record(c, who.staff(), id, day, req.Marks)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	l, err := s.attendance.Day(c, who.OrgID, id, day)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"changed": rec.Changed, "charged_cents": rec.ChargedCents, "given_back_cents": rec.GivenBackCents, "day": dayListView(l)})
}

// putAttendanceRule sets what a presence without a reservation costs on the :id
// service (finance, admin).
func (s *Server) putAttendanceRule(c *gin.Context) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	var req attendance.Rule
	if err := c.ShouldBindJSON(&req); err != nil {
		fail(c, s.log, badRequest("Le corps doit être {\"unbooked\": \"charge\"|\"surcharge\"|\"free\", \"surcharge_cents\"}."))
		return
	}
	r, err := s.attendance.SetRule(c, callerOf(c).staff(), id, req)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.JSON(http.StatusOK, ruleView(r))
}

type dayCountJSON struct {
	Date                string `json:"date"`
	Open                bool   `json:"open"`
	Capacity            *int32 `json:"capacity"`
	Booked              int    `json:"booked"`
	BookedWithAllergies int    `json:"booked_with_allergies"`
	HeldInCarts         int    `json:"held_in_carts"`
	Present             int    `json:"present"`
	Absent              int    `json:"absent"`
	Unbooked            int    `json:"unbooked"`
}

type serviceCountsJSON struct {
	ServiceID   uuid.UUID      `json:"service_id"`
	ServiceName string         `json:"service_name"`
	Days        []dayCountJSON `json:"days"`
}

// dayCounts is the numbers of each service day between from and to (default: the
// week of today, Monday to Sunday), for the kitchen's orders.
func (s *Server) dayCounts(c *gin.Context) {
	who := callerOf(c)
	loc, err := s.orgs.Zone(c, callerOf(c).OrgID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	today := booking.Day(s.now().In(loc))
	from := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
	to := time.Time{}
	if !s.queryDays(c, []string{"from", "to"}, &from, &to) {
		return
	}
	if to.IsZero() {
		to = from.AddDate(0, 0, 6)
	}
	if to.Before(from) || to.Sub(from) > attendance.MaxCountDays*24*time.Hour {
		fail(c, s.log, badRequest("Période invalide.", FieldError{Field: "to", Message: "période de 1 à 120 jours"}))
		return
	}
	counts, err := s.attendance.Counts(c, who.OrgID, from, to)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	svcs, err := s.svcs.All(c, who.OrgID)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	byService := map[uuid.UUID]*serviceCountsJSON{}
	out := []*serviceCountsJSON{}
	for _, sv := range svcs {
		sc := &serviceCountsJSON{ServiceID: sv.ID, ServiceName: sv.Name, Days: []dayCountJSON{}}
		byService[sv.ID] = sc
		out = append(out, sc)
	}
	for _, d := range counts {
		if sc := byService[d.ServiceID]; sc != nil {
			sc.Days = append(sc.Days, dayCountJSON{
				Date: d.Day.Format(time.DateOnly), Open: d.Open, Capacity: d.Capacity, Booked: d.Booked,
				BookedWithAllergies: d.BookedWithAllergies, HeldInCarts: d.HeldInCarts, Present: d.Present, Absent: d.Absent, Unbooked: d.Unbooked,
			})
		}
	}
	// Services without a day in the period are left out: the kitchen orders nothing for them.
	kept := out[:0]
	for _, sc := range out {
		if len(sc.Days) > 0 {
			kept = append(kept, sc)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].ServiceName < kept[j].ServiceName })
	c.JSON(http.StatusOK, gin.H{"from": from.Format(time.DateOnly), "to": to.Format(time.DateOnly), "services": kept})
}

type childSearchJSON struct {
	ID         uuid.UUID `json:"id"`
	FirstName  string    `json:"first_name"`
	LastName   string    `json:"last_name"`
	School     string    `json:"school"`
	ClassName  string    `json:"class_name"`
	BirthDate  *string   `json:"birth_date"`
	FamilyID   uuid.UUID `json:"family_id"`
	FamilyName string    `json:"family_name"`
}

// searchChildren finds the org's children by name (?q=; under 2 characters, no
// one), to tick one present without a reservation.
func (s *Server) searchChildren(c *gin.Context) {
	rows, err := s.families.SearchChildren(c, callerOf(c).OrgID, truncate(strings.TrimSpace(c.Query("q")), 100), queryLimit(c, 20, 50))
	if err != nil {
		fail(c, s.log, err)
		return
	}
	out := make([]childSearchJSON, 0, len(rows))
	for _, r := range rows {
		ch := childSearchJSON{ID: r.ID, FirstName: r.FirstName, LastName: r.LastName, School: r.School, ClassName: r.ClassName,
			FamilyID: r.FamilyID, FamilyName: r.FamilyName}
		if r.BirthDate != nil {
			d := r.BirthDate.Format(time.DateOnly)
			ch.BirthDate = &d
		}
		out = append(out, ch)
	}
	c.JSON(http.StatusOK, out)
}
