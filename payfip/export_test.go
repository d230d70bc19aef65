package payfip

// Hooks for the black-box tests in package payfip_test (compiled only with tests).

// ParseResponse exposes the response parser to the fuzz and envelope tests.
func ParseResponse(op string, status int, body []byte) (map[string]string, error) {
	return parseResponse(op, status, body)
}

// BuildEnvelope exposes the request writer so tests can send requests the
// client's validation would refuse, to check the simulator's faults.
func BuildEnvelope(op string, fields [][2]string) []byte { return buildEnvelope(op, fields) }
