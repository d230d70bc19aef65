package workflows_test

import (
	"testing"

	"github.com/enfance/enfance/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
