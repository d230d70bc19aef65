package document

import (
	"strings"
	"testing"
)

// A cell too long for its column wraps onto more lines; every word is printed
// (the invoice used to cut labels with "…").
func TestLongCellsWrapInsteadOfBeingCut(t *testing.T) {
	d := newDoc("test")
	d.SetFont("Helvetica", "", 9)
	label := "Paiement PayFiP ENF0123456789ABCDEF01234567 reçu après son abandon sur le portail : versé à la cagnotte"
	lines := d.cellLines(label, 62)
	if len(lines) < 2 {
		t.Fatalf("a long label on one line of a 62 mm column: %q", lines)
	}
	if got := strings.Join(lines, " "); got != d.tr(label) {
		t.Fatalf("wrapped text %q\nlost words of %q", got, label)
	}
	for _, l := range lines {
		if w := d.GetStringWidth(l); w > 62 {
			t.Errorf("line %q is %.1f mm wide, wider than its column", l, w)
		}
	}
	if lines := d.cellLines("3,80 €", 25); len(lines) != 1 {
		t.Errorf("a short amount wrapped: %q", lines)
	}
}
