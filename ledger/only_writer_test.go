package ledger_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The ledger has one writer: no package but ledger (and db, which generates the
// queries) names the queries that insert into ledger_entries, and no query file
// but db/queries/ledger.sql inserts into it. Tests may seed a ledger directly.
func TestLedgerIsTheOnlyWriter(t *testing.T) {
	inserts := map[string]bool{
		"InsertLedgerEntry": true, "InsertLedgerEntryParams": true,
		"InsertDeskLedgerEntry": true, "InsertDeskLedgerEntryParams": true,
	}
	root := filepath.Join("..")
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch rel {
			case "ledger", "db", "bin", ".data", ".git", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && inserts[sel.Sel.Name] {
				t.Errorf("%s names db.%s: write the ledger through package ledger", rel, sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("only %d Go files read: is the walk rooted at the module?", files)
	}
	queries, err := filepath.Glob(filepath.Join(root, "db", "queries", "*.sql"))
	if err != nil || len(queries) == 0 {
		t.Fatalf("no query files (%v)", err)
	}
	for _, q := range queries {
		b, err := os.ReadFile(q)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(q) != "ledger.sql" && strings.Contains(strings.ToLower(string(b)), "into ledger_entries") {
			t.Errorf("%s inserts into ledger_entries: only db/queries/ledger.sql may", q)
		}
	}
}
