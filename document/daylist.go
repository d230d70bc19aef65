package document

import (
	"fmt"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
)

// DayListChild is one child on the day's list.
type DayListChild struct {
	Name       string // "MARTIN Léa"
	Class      string // "CE1 – École Jules Ferry"
	Allergies  string
	Notes      string
	Family     string // "Famille Martin – 06 12 34 56 78"
	MayCollect []string
	Status     string // "present", "absent" or "" (not ticked)
	Unbooked   string // the reason, for a child present without a reservation
}

// DayList is a service day's list, printed for the canteen or the accueil.
type DayList struct {
	Org       string
	Service   string
	Day       time.Time
	Capacity  *int32
	Children  []DayListChild
	PrintedAt time.Time
	Location  *time.Location
}

var dayListCols = []column{
	{"Présent", 16, "C"}, {"Enfant", 44, "L"}, {"Classe, école", 38, "L"}, {"Allergies, remarques", 65, "L"},
	{"Famille", 48, "L"}, {"Peut venir le chercher", 50, "L"},
}

// RenderDayList draws the day's list in landscape, one row per child, with an
// empty box to tick when attendance was not recorded yet.
func RenderDayList(l DayList) ([]byte, error) {
	loc := l.Location
	if loc == nil {
		loc = time.UTC
	}
	f := fpdf.New("L", "mm", "A4", "")
	f.SetTitle(l.Service+" – "+ShortDate(l.Day), true)
	f.SetAuthor("enfance", true)
	f.SetMargins(18, 14, 18)
	f.SetAutoPageBreak(false, 14)
	d := &pdfDoc{Fpdf: f, tr: f.UnicodeTranslatorFromDescriptor("")}
	allergic := 0
	for _, c := range l.Children {
		if c.Allergies != "" {
			allergic++
		}
	}
	d.SetFooterFunc(func() {
		d.SetY(-12)
		d.SetFont("Helvetica", "I", 8)
		d.text(0, 5, fmt.Sprintf("%s – %s – imprimée le %s – page %d", l.Org, l.Service, DateTime(l.PrintedAt, loc), d.PageNo()), "", 0, "C")
	})
	header := func() {
		d.AddPage()
		d.SetFont("Helvetica", "B", 15)
		d.text(0, 8, l.Service+" – "+WeekdayDate(l.Day), "", 1, "L")
		d.SetFont("Helvetica", "", 10)
		summary := fmt.Sprintf("%d enfant%s", len(l.Children), plural(len(l.Children)))
		if l.Capacity != nil {
			summary += fmt.Sprintf(" (capacité %d)", *l.Capacity)
		}
		if allergic > 0 {
			summary += fmt.Sprintf(" – %d avec allergie%s signalée%s", allergic, plural(allergic), plural(allergic))
		}
		d.text(0, 6, summary, "", 1, "L")
		d.Ln(2)
		d.SetFont("Helvetica", "B", 9)
		d.SetFillColor(235, 235, 245)
		for i, c := range dayListCols {
			ln := 0
			if i == len(dayListCols)-1 {
				ln = 1
			}
			d.CellFormat(c.width, 7, d.tr(c.title), "B", ln, c.align, true, 0, "")
		}
		d.SetFont("Helvetica", "", 9)
	}
	header()
	if len(l.Children) == 0 {
		d.Ln(4)
		d.text(0, 6, "Aucun enfant n'est inscrit ce jour-là.", "", 1, "L")
	}
	_, pageH := d.GetPageSize()
	_, _, _, bottom := d.GetMargins()
	for _, c := range l.Children {
		name := c.Name
		if c.Unbooked != "" {
			name += "\n(sans réservation : " + c.Unbooked + ")"
		}
		remarks := []string{}
		if c.Allergies != "" {
			remarks = append(remarks, "Allergies : "+c.Allergies)
		}
		if c.Notes != "" {
			remarks = append(remarks, c.Notes)
		}
		cells := []string{"", name, c.Class, strings.Join(remarks, "\n"), c.Family, strings.Join(c.MayCollect, "\n")}
		lines := 1
		for i, text := range cells {
			if n := len(d.SplitLines([]byte(d.tr(text)), dayListCols[i].width-2)); n > lines {
				lines = n
			}
		}
		h := float64(lines)*4.5 + 3
		if d.GetY()+h > pageH-bottom-8 {
			header()
		}
		x, y := d.GetX(), d.GetY()
		for i, text := range cells {
			col := dayListCols[i]
			d.SetXY(x, y)
			if i == 0 {
				d.statusBox(x, y, col.width, c.Status)
			} else {
				d.SetXY(x+1, y+1.5)
				if i == 3 && c.Allergies != "" {
					d.SetFont("Helvetica", "B", 9)
				}
				d.MultiCell(col.width-2, 4.5, d.tr(text), "", col.align, false)
				d.SetFont("Helvetica", "", 9)
			}
			x += col.width
		}
		d.SetXY(d.lMargin(), y+h)
		d.Line(d.lMargin(), y+h, d.lMargin()+261, y+h)
	}
	return d.bytes()
}

// statusBox draws what attendance says: a box to tick, or P / A once recorded.
func (d *pdfDoc) statusBox(x, y, w float64, status string) {
	switch status {
	case "present":
		d.SetXY(x, y+1.5)
		d.SetFont("Helvetica", "B", 10)
		d.text(w, 5, "P", "", 0, "C")
		d.SetFont("Helvetica", "", 9)
	case "absent":
		d.SetXY(x, y+1.5)
		d.SetFont("Helvetica", "B", 10)
		d.text(w, 5, "Abs.", "", 0, "C")
		d.SetFont("Helvetica", "", 9)
	default:
		d.Rect(x+w/2-2.5, y+1.5, 5, 5, "D")
	}
}

func (d *pdfDoc) lMargin() float64 {
	l, _, _, _ := d.GetMargins()
	return l
}

func plural(n int) string {
	if n > 1 {
		return "s"
	}
	return ""
}
