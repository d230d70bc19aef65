package api

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/enfance/enfance/booking"
)

// What the handlers read from a request besides its body: path IDs, dates and
// periods, pages, the Idempotency-Key.

// pathIDs parses the named UUID path parameters; false: 404 answered.
func (s *Server) pathIDs(c *gin.Context, names ...string) ([]uuid.UUID, bool) {
	out := make([]uuid.UUID, len(names))
	for i, n := range names {
		id, err := uuid.Parse(c.Param(n))
		if err != nil {
			fail(c, s.log, errNotFound)
			return nil, false
		}
		out[i] = id
	}
	return out, true
}

// decode reads the named UUID path parameters and the JSON body into in; false:
// the problem is answered (404 for an unreadable ID, 400 for a body that is not
// JSON of in's shape).
func (s *Server) decode(c *gin.Context, in any, names ...string) ([]uuid.UUID, bool) {
	ids, ok := s.pathIDs(c, names...)
	if !ok {
		return nil, false
	}
	if err := c.ShouldBindJSON(in); err != nil {
		fail(c, s.log, badRequest("Corps JSON attendu."))
		return nil, false
	}
	return ids, true
}

// queryDays reads the optional dates ?name= (YYYY-MM-DD) over the defaults dst
// holds; false: the problem is answered, naming each bad field.
func (s *Server) queryDays(c *gin.Context, names []string, dst ...*time.Time) bool {
	var fields []FieldError
	for i, name := range names {
		if v := c.Query(name); v != "" {
			d, err := booking.ParseDay(v)
			if err != nil {
				fields = append(fields, FieldError{Field: name, Message: "date attendue au format AAAA-MM-JJ"})
			}
			*dst[i] = d
		}
	}
	if len(fields) > 0 {
		fail(c, s.log, badRequest("Période invalide.", fields...))
		return false
	}
	return true
}

// period reads from/to (YYYY-MM-DD), defaulting to the current month.
func (s *Server) period(c *gin.Context) (from, to time.Time, ok bool) {
	first, last, _ := booking.ParseMonth(s.now().Format("2006-01"))
	from, to = first, last
	var fields []FieldError
	if v := c.Query("from"); v != "" {
		d, err := booking.ParseDay(v)
		if err != nil {
			fields = append(fields, FieldError{Field: "from", Message: "date attendue au format AAAA-MM-JJ"})
		}
		from = d
	}
	if v := c.Query("to"); v != "" {
		d, err := booking.ParseDay(v)
		if err != nil {
			fields = append(fields, FieldError{Field: "to", Message: "date attendue au format AAAA-MM-JJ"})
		}
		to = d
	}
	if len(fields) == 0 && to.Before(from) {
		fields = append(fields, FieldError{Field: "to", Message: "la fin précède le début"})
	}
	if len(fields) > 0 {
		fail(c, s.log, badRequest("Période invalide.", fields...))
		return from, to, false
	}
	return from, to, true
}

// page is a paginated list: pass next_cursor back as ?cursor= for the next page.
type page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// queryLimit reads ?limit= within [1, max], def when absent or unreadable.
func queryLimit(c *gin.Context, def, max int) int {
	n, err := strconv.Atoi(c.Query("limit"))
	if err != nil || n < 1 {
		return def
	}
	return min(n, max)
}

var errIdempotencyKey = problem(http.StatusBadRequest, "idempotency-key-required", "En-tête Idempotency-Key requis",
	"Chaque écriture d'argent porte un en-tête Idempotency-Key unique (un UUID par exemple), repris tel quel si la requête est renvoyée.")

var errIdempotencyReuse = problem(http.StatusConflict, "idempotency-key-reused", "Clé d'idempotence déjà utilisée",
	"Cette clé Idempotency-Key a déjà servi pour une autre écriture ; générez-en une nouvelle.")

var errIdempotencyKeyInvalid = problem(http.StatusBadRequest, "idempotency-key-invalid", "En-tête Idempotency-Key invalide",
	"L'en-tête Idempotency-Key compte de 1 à 200 caractères ASCII visibles (un UUID par exemple).")

// optionalIdempotencyKey reads the header where it may be absent ("", true); a
// malformed one is refused rather than ignored, which would silently lose the
// deduplication its sender relies on.
func optionalIdempotencyKey(c *gin.Context) (string, bool) {
	if c.GetHeader("Idempotency-Key") == "" {
		return "", true
	}
	return idempotencyKey(c)
}

// idempotencyKey reads the header: 1 to 200 visible ASCII characters.
func idempotencyKey(c *gin.Context) (string, bool) {
	k := c.GetHeader("Idempotency-Key")
	if k == "" || len(k) > 200 {
		return "", false
	}
	for _, r := range k {
		if r < 0x21 || r > 0x7e {
			return "", false
		}
	}
	return k, true
}

// fileID reads "<uuid><ext>" from a route parameter: gin cannot put a suffix
// after a parameter, so the route is /invoices/:file and anything else is a 404.
func fileID(c *gin.Context, ext string) (uuid.UUID, bool) {
	name, ok := strings.CutSuffix(c.Param("file"), ext)
	if !ok {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(name)
	return id, err == nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
