package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// receiptPDF serves the attestation of one of the family's settled payments.
func (s *Server) receiptPDF(c *gin.Context) {
	ids, ok := s.pathIDs(c, "id")
	if !ok {
		return
	}
	doc, err := s.carts.Receipt(c, callerOf(c).family(), ids[0])
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="`+doc.Filename+`"`)
	c.Data(http.StatusOK, "application/pdf", doc.PDF)
}
