// Package soapxml holds the small XML tree the PayFiP client and simulator share:
// SOAP messages are read into element nodes, then navigated by local name so that
// neither side depends on the prefixes or namespace declarations the peer chose.
package soapxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/htmlindex"
)

// Namespaces of the PayFiP contract and SOAP 1.1.
const (
	// NSService is the namespace of the wrapper elements (creerPaiementSecurise …)
	// and of the fault detail elements.
	NSService = "http://securite.service.tpa.cp.finances.gouv.fr/services/mas_securite/contrat_paiement_securise/PaiementSecuriseService"
	// NSEnvelope is the SOAP 1.1 envelope namespace.
	NSEnvelope = "http://schemas.xmlsoap.org/soap/envelope/"
)

// Limits keep a hostile or broken peer from making us build a huge tree.
const (
	maxDepth = 32
	maxNodes = 4096
)

// Node is one element: its name, the character data directly inside it (when it
// has no element children this is its value) and its element children.
type Node struct {
	Space, Local string
	Text         string
	Children     []*Node
}

// Parse reads one XML document into a tree of elements. Comments, processing
// instructions and directives are skipped; a DTD is refused (SOAP forbids it).
// Documents that declare a non-UTF-8 encoding (ISO-8859-1, windows-1252 …) are
// decoded.
func Parse(data []byte) (*Node, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.CharsetReader = charsetReader
	var (
		stack []*Node
		root  *Node
		text  [][]byte
		nodes int
	)
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("xml: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, errors.New("xml: more than one root element")
			}
			nodes++
			if nodes > maxNodes || len(stack) >= maxDepth {
				return nil, errors.New("xml: document too large or too deep")
			}
			n := &Node{Space: t.Name.Space, Local: t.Name.Local}
			if len(stack) == 0 {
				root = n
			} else {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, n)
			}
			stack = append(stack, n)
			text = append(text, nil)
		case xml.EndElement:
			// The decoder (Strict) guarantees matching start/end tags.
			n := stack[len(stack)-1]
			n.Text = string(text[len(text)-1])
			stack = stack[:len(stack)-1]
			text = text[:len(text)-1]
		case xml.CharData:
			if len(stack) > 0 {
				text[len(text)-1] = append(text[len(text)-1], t...)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("xml: text outside the root element")
			}
		case xml.Directive:
			return nil, errors.New("xml: directives (DTD) are not allowed")
		}
	}
	if root == nil {
		return nil, errors.New("xml: no root element")
	}
	return root, nil
}

func charsetReader(label string, r io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(label)
	if err != nil {
		return nil, fmt.Errorf("unsupported charset %q", label)
	}
	return enc.NewDecoder().Reader(r), nil
}

// Child returns the first element child whose local name is local, compared
// without regard to case (idOp/idop, numCli/numcli), or nil.
func (n *Node) Child(local string) *Node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if strings.EqualFold(c.Local, local) {
			return c
		}
	}
	return nil
}

// FirstElement returns the first element child, or nil.
func (n *Node) FirstElement() *Node {
	if n == nil || len(n.Children) == 0 {
		return nil
	}
	return n.Children[0]
}

// Leaves collects, under n, the value of every element that has no element
// children, keyed by lower-cased local name; the first occurrence (depth first)
// wins. It finds the fields of a response whether or not they sit in a
// `return` element, and whatever namespace they were put in.
func (n *Node) Leaves() map[string]string {
	out := map[string]string{}
	var walk func(*Node)
	walk = func(x *Node) {
		for _, c := range x.Children {
			if len(c.Children) == 0 {
				k := strings.ToLower(c.Local)
				if _, ok := out[k]; !ok {
					out[k] = c.Text
				}
				continue
			}
			walk(c)
		}
	}
	if n != nil {
		walk(n)
	}
	return out
}

// Body checks that root is a SOAP Envelope and returns the first element inside
// its Body (the operation wrapper or a Fault).
func Body(root *Node) (*Node, error) {
	if root == nil || root.Local != "Envelope" {
		return nil, errors.New("not a SOAP envelope")
	}
	body := root.Child("Body")
	if body == nil {
		return nil, errors.New("SOAP envelope without Body")
	}
	first := body.FirstElement()
	if first == nil {
		return nil, errors.New("empty SOAP Body")
	}
	return first, nil
}

// Escape returns s escaped for XML character data.
func Escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
