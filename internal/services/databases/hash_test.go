package databases

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMySQLNativeHash(t *testing.T) {
	for pw, want := range map[string]string{
		// SELECT PASSWORD('password') on MariaDB and MySQL 5.7
		"password": "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19",
		"":         "*BE1BDEC0AA74B4DCB079943E70528096CCA985F8",
	} {
		if got := MySQLNativeHash(pw); got != want {
			t.Errorf("MySQLNativeHash(%q) = %s, want %s", pw, got, want)
		}
		if !ValidHash(MySQL, want) {
			t.Errorf("ValidHash(mysql, %s) = false", want)
		}
	}
}

// TestSCRAMVerifierRFC7677 checks a verifier against the exchange of RFC
// 7677 §3 (user "user", password "pencil"), the way a server does: the
// client's proof must give back StoredKey, and the server's signature must
// be the one the RFC's server sent.
func TestSCRAMVerifierRFC7677(t *testing.T) {
	salt, _ := base64.StdEncoding.DecodeString("W22ZaJ0SNY7soEsUEjb6gQ==")
	v, err := scramVerifier("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if !ValidHash(PostgreSQL, v) {
		t.Fatalf("not a valid verifier: %s", v)
	}
	parts := strings.Split(strings.TrimPrefix(v, "SCRAM-SHA-256$"), "$")
	if parts[0] != "4096:W22ZaJ0SNY7soEsUEjb6gQ==" {
		t.Fatalf("iterations and salt: %s", parts[0])
	}
	keys := strings.Split(parts[1], ":")
	storedKey, _ := base64.StdEncoding.DecodeString(keys[0])
	serverKey, _ := base64.StdEncoding.DecodeString(keys[1])
	authMessage := "n=user,r=rOprNGfwEbeRWgbNEkqO," +
		"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096," +
		"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
	proof, _ := base64.StdEncoding.DecodeString("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
	clientSignature := hmacSHA256(storedKey, authMessage)
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ clientSignature[i]
	}
	if got := sha256.Sum256(clientKey); !hmac.Equal(got[:], storedKey) {
		t.Errorf("the RFC's client proof does not match StoredKey %s", keys[0])
	}
	wantSig, _ := base64.StdEncoding.DecodeString("6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
	if got := hmacSHA256(serverKey, authMessage); !hmac.Equal(got, wantSig) {
		t.Errorf("server signature %s, want the RFC's", base64.StdEncoding.EncodeToString(got))
	}
}

// TestSCRAMVerifierAsPostgreSQL compares with the verifier PostgreSQL
// itself makes of a password, for the same salt (in a transaction that is
// rolled back).
func TestSCRAMVerifierAsPostgreSQL(t *testing.T) {
	url := os.Getenv("ORCHESTRA_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("ORCHESTRA_TEST_POSTGRES_URL is unset")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, pw := range []string{"pencil", "Str0ng-pass-phrase", `it's "quoted" $1 \n`} {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var made string
		_, err = tx.Exec(ctx, "SET LOCAL password_encryption = 'scram-sha-256'")
		if err == nil {
			_, err = tx.Exec(ctx, "CREATE ROLE orchestra_scram_vector PASSWORD '"+strings.ReplaceAll(pw, "'", "''")+"'")
		}
		if err == nil {
			err = tx.QueryRow(ctx, "SELECT rolpassword FROM pg_authid WHERE rolname = 'orchestra_scram_vector'").Scan(&made)
		}
		tx.Rollback(ctx)
		if err != nil {
			t.Fatal(err)
		}
		head, _, _ := strings.Cut(strings.TrimPrefix(made, "SCRAM-SHA-256$"), "$")
		iters, salt64, _ := strings.Cut(head, ":")
		n, _ := strconv.Atoi(iters)
		salt, _ := base64.StdEncoding.DecodeString(salt64)
		got, err := scramVerifier(pw, salt, n)
		if err != nil {
			t.Fatal(err)
		}
		if got != made {
			t.Errorf("password %q:\n got %s\nwant %s (PostgreSQL's)", pw, got, made)
		}
	}
}

func TestValidHash(t *testing.T) {
	v, err := SCRAMVerifier("Str0ng-pass-phrase")
	if err != nil {
		t.Fatal(err)
	}
	if !ValidHash(PostgreSQL, v) || ValidHash(MySQL, v) {
		t.Errorf("ValidHash of %s", v)
	}
	if v2, _ := SCRAMVerifier("Str0ng-pass-phrase"); v2 == v {
		t.Error("two verifiers of one password share a salt")
	}
	m := MySQLNativeHash("x")
	bad := map[string][]string{
		MySQL: {"", "password", strings.ToLower(m), m + "0", m[1:], "*' OR '1'='1", m + "'", " " + m},
		PostgreSQL: {"", "pencil", m,
			strings.Replace(v, "4096", "99", 1),           // too few iterations
			strings.Replace(v, "SCRAM-SHA-256", "MD5", 1), // another method
			v[:len(v)-4] + "A==",                          // ServerKey not 32 bytes
			v + "'", v + "\n", "SCRAM-SHA-256$4096:c2FsdA==$a:b",
			// a salt that is not canonical base64 (non-zero padding bits)
			"SCRAM-SHA-256$4096:c2FsdB==$" + strings.SplitN(v, "$", 3)[2],
		},
		"oracle": {m, v},
	}
	for typ, hashes := range bad {
		for _, h := range hashes {
			if ValidHash(typ, h) {
				t.Errorf("ValidHash(%s, %q) = true", typ, h)
			}
		}
	}
}
