package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/enfance/enfance/db"
	"github.com/enfance/enfance/receipt"
)

// receiptPDF serves the attestation of one of the family's settled payments.
func (s *Server) receiptPDF(c *gin.Context) {
	who := callerOf(c)
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		fail(c, s.log, errNotFound)
		return
	}
	att, err := s.q.GetFamilyPaymentAttempt(c, db.GetFamilyPaymentAttemptParams{OrgID: who.OrgID, FamilyID: *who.FamilyID, ID: id})
	if err != nil {
		fail(c, s.log, notFoundOr(err))
		return
	}
	if att.Status != "paid" && att.Status != "settled_without_payfip" {
		fail(c, s.log, problem(http.StatusConflict, "payment-not-settled", "Paiement non abouti", "Ce paiement n'a pas abouti : il n'a pas d'attestation."))
		return
	}
	doc, err := receipt.Build(c, s.q, att)
	if err != nil {
		fail(c, s.log, err)
		return
	}
	c.Header("Content-Disposition", `attachment; filename="`+doc.Filename+`"`)
	c.Data(http.StatusOK, "application/pdf", doc.PDF)
}
