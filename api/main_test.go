package api_test

import (
	"testing"

	"github.com/enfance/enfance/testenv"
)

// One TestMain for every test file of the package: testenv stops the servers it
// started once they are all done.
func TestMain(m *testing.M) { testenv.Main(m) }
