package payfip_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/enfance/enfance/payfip"
)

func faultEnvelopeS(code string) string {
	return `<?xml version='1.0' encoding='UTF-8'?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><S:Fault xmlns:ns4="http://www.w3.org/2003/05/soap-envelope"><faultcode>S:Server</faultcode><faultstring>Résultat de la transaction non connu.</faultstring><detail><ns2:FonctionnelleErreur xmlns:ns2="` + nsService + `"><code>` + code + `</code><descriptif>Transaction en cours</descriptif><libelle>Résultat de la transaction non connu.</libelle><message>m</message><severite>2</severite></ns2:FonctionnelleErreur></detail></S:Fault></S:Body></S:Envelope>`
}

var wantDetail = payfip.Detail{
	IDOp: "cc0cb210-1cd4-11ea-8cca-0213ad91a103", Numcli: "090909", Refdet: "EFEFAEFG", Exer: "2019", Montant: "1000",
	Mel: "john.doe@example.com", Objet: "coucou", Saisie: "T", Resultrans: "V", Numauto: "112233445566-tip",
	Dattrans: "12122019", Heurtrans: "1311",
}

// Detail answers in the prefix styles seen from SOAP stacks.
var detailEnvelopes = map[string]string{
	"JAX-WS S: and ns2:": `<?xml version='1.0' encoding='UTF-8'?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><ns2:recupererDetailPaiementSecuriseResponse xmlns:ns2="` + nsService + `"><return><dattrans>12122019</dattrans><exer>2019</exer><heurtrans>1311</heurtrans><idOp>cc0cb210-1cd4-11ea-8cca-0213ad91a103</idOp><mel>john.doe@example.com</mel><montant>1000</montant><numauto>112233445566-tip</numauto><numcli>090909</numcli><objet>coucou</objet><refdet>EFEFAEFG</refdet><resultrans>V</resultrans><saisie>T</saisie></return></ns2:recupererDetailPaiementSecuriseResponse></S:Body></S:Envelope>`,

	"soapenv: with a default namespace on the wrapper": `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <soapenv:Header/>
  <soapenv:Body>
    <recupererDetailPaiementSecuriseResponse xmlns="` + nsService + `">
      <return xmlns="">
        <dattrans>12122019</dattrans><exer>2019</exer><heurtrans>1311</heurtrans>
        <idOp>cc0cb210-1cd4-11ea-8cca-0213ad91a103</idOp><mel>john.doe@example.com</mel>
        <montant>1000</montant><numauto>112233445566-tip</numauto><numcli>090909</numcli>
        <objet>coucou</objet><refdet>EFEFAEFG</refdet><resultrans>V</resultrans><saisie>T</saisie>
      </return>
    </recupererDetailPaiementSecuriseResponse>
  </soapenv:Body>
</soapenv:Envelope>`,

	"no prefix at all, fields qualified by a default namespace": `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><recupererDetailPaiementSecuriseResponse xmlns="` + nsService + `"><return><saisie>T</saisie><resultrans>V</resultrans><refdet>EFEFAEFG</refdet><objet>coucou</objet><numcli>090909</numcli><numauto>112233445566-tip</numauto><montant>1000</montant><mel>john.doe@example.com</mel><idOp>cc0cb210-1cd4-11ea-8cca-0213ad91a103</idOp><heurtrans>1311</heurtrans><exer>2019</exer><dattrans>12122019</dattrans></return></recupererDetailPaiementSecuriseResponse></Body></Envelope>`,

	"fields with their own prefix, comments, CDATA": `<?xml version="1.0"?><!-- answer --><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><tns:recupererDetailPaiementSecuriseResponse xmlns:tns="` + nsService + `"><return xmlns:r="http://securite.service.tpa.cp.finances.gouv.fr/reponse"><r:dattrans>12122019</r:dattrans><r:exer>2019</r:exer><r:heurtrans>1311</r:heurtrans><r:idOp>cc0cb210-1cd4-11ea-8cca-0213ad91a103</r:idOp><r:mel>john.doe@example.com</r:mel><r:montant><![CDATA[1000]]></r:montant><r:numauto>112233445566-tip</r:numauto><r:numcli>090909</r:numcli><r:objet>coucou</r:objet><r:refdet>EFEFAEFG</r:refdet><r:resultrans>V</r:resultrans><r:saisie>T</r:saisie></return></tns:recupererDetailPaiementSecuriseResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>`,

	"ISO-8859-1 and no return wrapper": "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><S:Envelope xmlns:S=\"http://schemas.xmlsoap.org/soap/envelope/\"><S:Body><ns2:recupererDetailPaiementSecuriseResponse xmlns:ns2=\"" + nsService + "\"><dattrans>12122019</dattrans><exer>2019</exer><heurtrans>1311</heurtrans><idOp>cc0cb210-1cd4-11ea-8cca-0213ad91a103</idOp><mel>john.doe@example.com</mel><montant>1000</montant><numauto>112233445566-tip</numauto><numcli>090909</numcli><objet>coucou</objet><refdet>EFEFAEFG</refdet><resultrans>V</resultrans><saisie>T</saisie></ns2:recupererDetailPaiementSecuriseResponse></S:Body></S:Envelope>",
}

func TestParseDetailPrefixStyles(t *testing.T) {
	for name, env := range detailEnvelopes {
		t.Run(name, func(t *testing.T) {
			srv, _ := captureServer(t, 200, env)
			c := payfip.NewClient(payfip.Config{Endpoint: srv.URL}, nil)
			d, err := c.PaymentDetail(context.Background(), "cc0cb210-1cd4-11ea-8cca-0213ad91a103")
			if err != nil {
				t.Fatal(err)
			}
			if d != wantDetail {
				t.Fatalf("\n got %+v\nwant %+v", d, wantDetail)
			}
		})
	}
}

// Faults in the same prefix styles.
var faultEnvelopes = map[string]string{
	"JAX-WS S: and ns2:": faultEnvelopeS("P5"),
	"soapenv: with default namespace in detail": `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">
 <soapenv:Body>
  <soapenv:Fault>
   <faultcode>soapenv:Server</faultcode>
   <faultstring>Résultat de la transaction non connu.</faultstring>
   <detail>
    <FonctionnelleErreur xmlns="` + nsService + `">
     <code xmlns="">P5</code><descriptif xmlns="">Transaction en cours</descriptif>
     <libelle xmlns="">Résultat de la transaction non connu.</libelle><message xmlns="">m</message>
     <severite xmlns=""> 2 </severite>
    </FonctionnelleErreur>
   </detail>
  </soapenv:Fault>
 </soapenv:Body>
</soapenv:Envelope>`,
	"no prefix": `<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><Fault><faultcode>Server</faultcode><faultstring>Résultat de la transaction non connu.</faultstring><detail><FonctionnelleErreur><code>P5</code><descriptif>Transaction en cours</descriptif><libelle>Résultat de la transaction non connu.</libelle><message>m</message><severite>2</severite></FonctionnelleErreur></detail></Fault></Body></Envelope>`,
}

func TestParseFaultPrefixStyles(t *testing.T) {
	for name, env := range faultEnvelopes {
		t.Run(name, func(t *testing.T) {
			srv, _ := captureServer(t, 500, env)
			c := payfip.NewClient(payfip.Config{Endpoint: srv.URL}, nil)
			_, err := c.PaymentDetail(context.Background(), "x")
			f := asFault(t, err)
			want := payfip.Fault{Type: "FonctionnelleErreur", Code: "P5", Descriptif: "Transaction en cours",
				Libelle: "Résultat de la transaction non connu.", Message: "m", Severite: 2,
				FaultCode: f.FaultCode, FaultString: "Résultat de la transaction non connu."}
			if *f != want || !strings.HasSuffix(f.FaultCode, "Server") {
				t.Fatalf("\n got %+v\nwant %+v", *f, want)
			}
			if got := f.Error(); got != "payfip: fault FonctionnelleErreur P5: Résultat de la transaction non connu." {
				t.Fatalf("Error() = %q", got)
			}
		})
	}
}

func TestParseOtherAnswers(t *testing.T) {
	for _, c := range []struct {
		name      string
		status    int
		body      string
		wantFault *payfip.Fault // nil: a plain error is expected
	}{
		{"fault without detail: faultstring becomes Message", 500,
			`<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><S:Fault><faultcode>S:Client</faultcode><faultstring>Cannot find dispatch method</faultstring></S:Fault></S:Body></S:Envelope>`,
			&payfip.Fault{Message: "Cannot find dispatch method", FaultCode: "S:Client", FaultString: "Cannot find dispatch method"}},
		{"TechDysfonctionnementErreur", 500,
			`<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><S:Fault><faultcode>S:Server</faultcode><faultstring>x</faultstring><detail><ns2:TechDysfonctionnementErreur xmlns:ns2="` + nsService + `"><code>999</code><severite>3</severite></ns2:TechDysfonctionnementErreur></detail></S:Fault></S:Body></S:Envelope>`,
			&payfip.Fault{Type: "TechDysfonctionnementErreur", Code: "999", Severite: 3, FaultCode: "S:Server", FaultString: "x"}},
		{"HTML error page", 500, "<!DOCTYPE html><html><body><h1>Erreur</h1><br></body></html>", nil},
		{"proxy 502 with empty body", 502, "", nil},
		{"200 with garbage", 200, "hello", nil},
		{"200 with a non-SOAP XML document", 200, "<a><b/></a>", nil},
		{"200 with the wrong operation", 200, `<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><ns2:creerPaiementSecuriseResponse xmlns:ns2="x"><return><idOp>1</idOp></return></ns2:creerPaiementSecuriseResponse></S:Body></S:Envelope>`, nil},
		{"503 with a SOAP answer that is not a fault", 503, `<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><ns2:recupererDetailPaiementSecuriseResponse xmlns:ns2="x"/></S:Body></S:Envelope>`, nil},
		{"DTD refused", 200, `<!DOCTYPE x [<!ENTITY a "b">]><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body/></S:Envelope>`, nil},
		{"truncated", 200, `<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><ns2:recupererDetailPaiementSecuriseResponse`, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, _ := captureServer(t, c.status, c.body)
			cl := payfip.NewClient(payfip.Config{Endpoint: srv.URL}, nil)
			_, err := cl.PaymentDetail(context.Background(), "x")
			if err == nil {
				t.Fatal("no error")
			}
			var f *payfip.Fault
			isFault := errors.As(err, &f)
			if c.wantFault == nil {
				if isFault {
					t.Fatalf("want a plain error, got fault %+v", f)
				}
				return
			}
			if !isFault || *f != *c.wantFault {
				t.Fatalf("got %v (%T) %+v, want %+v", err, err, f, c.wantFault)
			}
		})
	}
}

func FuzzParseResponse(f *testing.F) {
	for _, env := range detailEnvelopes {
		f.Add(200, []byte(env))
	}
	for _, env := range faultEnvelopes {
		f.Add(500, []byte(env))
	}
	f.Add(500, []byte("<!DOCTYPE html><html></html>"))
	f.Add(200, []byte(""))
	f.Add(200, []byte(`<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body></S:Body></S:Envelope>`))
	f.Add(200, []byte(`<?xml version="1.0" encoding="windows-1252"?><Envelope><Body><recupererDetailPaiementSecuriseResponse><idOp>`+"\x93x\x94"+`</idOp></recupererDetailPaiementSecuriseResponse></Body></Envelope>`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		fields, err := payfip.ParseResponse("recupererDetailPaiementSecurise", status, body)
		if err == nil {
			if status != 200 {
				t.Fatalf("status %d accepted as an answer", status)
			}
			if fields == nil {
				t.Fatal("no error and no fields")
			}
			return
		}
		var fault *payfip.Fault
		if errors.As(err, &fault) && !strings.HasPrefix(fault.Error(), "payfip: fault") {
			t.Fatalf("fault Error() = %q", fault.Error())
		}
		if err.Error() == "" {
			t.Fatal("empty error message")
		}
	})
}

func FuzzNormalizeObjet(f *testing.F) {
	for _, s := range []string{
		"", "Cantine mars 2025", "Séjour d'été – Noël/2025 #12", "Garderie du soir\tpériscolaire\n",
		"œuvre Æsop straße Łódź ﬁn ²", "   ", "////----####''''", strings.Repeat("é", 200),
		strings.Repeat("ab ", 60), "\xff\xfe invalid", "日本語のテキスト", "a\u00a0b\u202fc", "<script>alert(1)</script>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := payfip.NormalizeObjet(s)
		if len(out) > payfip.MaxObjetLen {
			t.Fatalf("%d bytes: %q", len(out), out)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8: %q", out)
		}
		for i := 0; i < len(out); i++ {
			c := out[i]
			if !(c == ' ' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				t.Fatalf("byte %q in %q", c, out)
			}
		}
		if strings.HasPrefix(out, " ") || strings.HasSuffix(out, " ") || strings.Contains(out, "  ") {
			t.Fatalf("spaces not collapsed/trimmed: %q", out)
		}
		if again := payfip.NormalizeObjet(out); again != out {
			t.Fatalf("not idempotent: %q → %q", out, again)
		}
	})
}

func TestNormalizeObjet(t *testing.T) {
	for in, want := range map[string]string{
		"Cantine mars 2025":                    "Cantine mars 2025",
		"Séjour d'été – Noël/2025 #12":         "Sejour d ete Noel 2025 12",
		"  Garderie\tdu  soir\n":               "Garderie du soir",
		"Œuvre cœur ﬁn":                        "OEuvre coeur fin",
		"Accueil de loisirs: mercredi (x2).":   "Accueil de loisirs mercredi x2",
		"a’b‘c—d":                              "a b c d",
		"日本":                                   "",
		strings.Repeat("abcd ", 30):            strings.TrimSpace(strings.Repeat("abcd ", 20)),
		strings.Repeat("x", 99) + " yz":        strings.Repeat("x", 99),
		strings.Repeat("é", 150):               strings.Repeat("e", 100),
		"RESTAURATION SCOLAIRE - FACTURE 2025": "RESTAURATION SCOLAIRE FACTURE 2025",
	} {
		if got := payfip.NormalizeObjet(in); got != want {
			t.Errorf("NormalizeObjet(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidRefdet(t *testing.T) {
	for s, want := range map[string]bool{
		"ABCDEF": true, "abc123": true, strings.Repeat("9", 30): true, "201912261758460053903194": true,
		"ABCDE": false, strings.Repeat("9", 31): false, "ABC-DEF": false, "ABC DEF": false, "ABCDÉF": false, "": false,
	} {
		if got := payfip.ValidRefdet(s); got != want {
			t.Errorf("ValidRefdet(%q) = %v", s, got)
		}
	}
}
