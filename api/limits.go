package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/zap"

	"github.com/enfance/enfance/config"
)

// NewHTTPServer is the API's http.Server: every request is bounded in time (a
// client sending its headers or its body a byte at a time is cut off) as well as in
// size (limitBody).
func NewHTTPServer(h http.Handler, l config.HTTPLimits) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
}

// Routes whose body may be larger than HTTP_MAX_BODY_BYTES.
var (
	// Read whole like any other body, under a larger cap.
	largeBodies = map[string]int64{
		"/api/v1/cart/items": 1 << 20, // up to maxItems days
	}
	// Multipart uploads, read as a stream by readMessageForm under its own limits
	// and time (HTTP_UPLOAD_TIMEOUT); any other body on these routes is capped.
	uploads = map[string]bool{
		"/api/v1/messages":                 true,
		"/api/v1/admin/messages/:id/reply": true,
	}
)

// limitBody reads a request's body before any handler does, up to the route's
// limit: a larger one is refused with 413 without being read further (a declared
// Content-Length is refused before a byte is read), so no handler decodes, hashes
// or stores more than the limit. Holding the body (64 KiB by default) lets every
// handler keep its plain ShouldBindJSON.
func (s *Server) limitBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		body := c.Request.Body
		if body == nil || body == http.NoBody || (uploads[c.FullPath()] && strings.HasPrefix(c.ContentType(), "multipart/")) {
			c.Next()
			return
		}
		limit := s.cfg.HTTP.MaxBodyBytes
		if n, ok := largeBodies[c.FullPath()]; ok {
			limit = n
		}
		if c.Request.ContentLength > limit {
			s.refuseBody(c, errBodyTooLarge(limit))
			return
		}
		buf, err := io.ReadAll(io.LimitReader(body, limit+1))
		var netErr net.Error
		switch {
		case errors.As(err, &netErr) && netErr.Timeout():
			s.refuseBody(c, errBodyTooSlow)
			return
		case err != nil:
			s.refuseBody(c, badRequest("Corps de requête illisible."))
			return
		case int64(len(buf)) > limit:
			s.refuseBody(c, errBodyTooLarge(limit))
			return
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(buf))
		c.Next()
	}
}

// refuseBody answers without reading the rest of the body, and closes the
// connection: what the client still sends is never read.
func (s *Server) refuseBody(c *gin.Context, p *Problem) {
	c.Header("Connection", "close")
	fail(c, s.log, p)
}

func errBodyTooLarge(limit int64) *Problem {
	return problem(http.StatusRequestEntityTooLarge, "request-too-large", "Requête trop volumineuse",
		fmt.Sprintf("Le corps de la requête dépasse %s.", sizeFR(limit)))
}

var errBodyTooSlow = problem(http.StatusRequestTimeout, "request-timeout", "Requête trop lente",
	"La requête n'est pas arrivée à temps ; vérifiez votre connexion et réessayez.")

// sizeFR writes a size as a French reader expects it: 64 Ko, 1 Mo, 50 Mo.
func sizeFR(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d Mo", n>>20)
	case n >= 1<<20:
		return strings.Replace(fmt.Sprintf("%.1f Mo", float64(n)/(1<<20)), ".", ",", 1)
	case n >= 1<<10:
		return fmt.Sprintf("%d Ko", n>>10)
	}
	return fmt.Sprintf("%d octets", n)
}

// allowSlowUpload gives a multipart upload HTTP_UPLOAD_TIMEOUT to arrive and be
// answered instead of the server's read and write timeouts: 50 MB from a phone
// takes minutes.
func (s *Server) allowSlowUpload(c *gin.Context) {
	rc := http.NewResponseController(c.Writer)
	deadline := time.Now().Add(s.cfg.HTTP.UploadTimeout)
	if err := rc.SetReadDeadline(deadline); err != nil {
		s.log.Debug("upload read deadline not extended", zap.Error(err))
	}
	if err := rc.SetWriteDeadline(deadline); err != nil {
		s.log.Debug("upload write deadline not extended", zap.Error(err))
	}
}
