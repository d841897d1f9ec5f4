package local

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
)

// importCertificates rehearses what an operator does before deploying
// with HTTPS: a certificate for the ingest name imported into ACM in each
// of the workload regions given (ACM certificates are regional), valid for
// a year from now. Options.HTTPS passes them as the workload stacks' CertificateArn.
func (l *Local) importCertificates(ctx context.Context, regions ...string) error {
	if l.Certificates == nil {
		l.Certificates = map[string]string{}
	}
	name := fmt.Sprintf("ingest.%s.example", l.Names.Prefix)
	for _, region := range regions {
		cert, key, err := selfSigned(name, l.Clock.Now())
		if err != nil {
			return err
		}
		out, err := l.World.Region(region).ACM().ImportCertificate(ctx, &acm.ImportCertificateInput{Certificate: cert, PrivateKey: key})
		if err != nil {
			return fmt.Errorf("import the certificate of %s: %w", region, err)
		}
		l.Certificates[region] = aws.ToString(out.CertificateArn)
	}
	return nil
}

// selfSigned returns a PEM certificate for name, valid from an hour before
// now for a year, and its key.
func selfSigned(name string, now time.Time) (cert, key []byte, err error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, nil, err
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
