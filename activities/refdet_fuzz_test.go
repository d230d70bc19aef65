package activities_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/enfance/enfance/activities"
	"github.com/enfance/enfance/payfip"
)

// FuzzRefdet: every attempt's refdet is one PayFiP accepts, and two attempts never
// share one.
func FuzzRefdet(f *testing.F) {
	f.Add([]byte("0123456789abcdef"), []byte("fedcba9876543210"))
	f.Add(make([]byte, 16), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ida, erra := uuid.FromBytes(a)
		idb, errb := uuid.FromBytes(b)
		if erra != nil || errb != nil {
			return
		}
		ra, rb := activities.Refdet(ida), activities.Refdet(idb)
		if !payfip.ValidRefdet(ra) {
			t.Fatalf("refdet %q of %s is not valid for PayFiP", ra, ida)
		}
		if ra == rb && ida != idb {
			// 96 bits of the ID are kept; a collision needs IDs equal on them.
			if ida.String()[:28] != idb.String()[:28] {
				t.Fatalf("%s and %s share refdet %q", ida, idb, ra)
			}
		}
	})
}
