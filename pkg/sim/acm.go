package sim

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	acmtypes "github.com/aws/aws-sdk-go-v2/service/acm/types"
)

// ACM is one region's simulated AWS Certificate Manager, as far as a
// rehearsal needs it: certificates imported with ImportCertificate (PEM
// certificate, its private key and an optional chain; re-importing to an
// existing ARN replaces it), described with DescribeCertificate (status
// ISSUED until NotAfter, then EXPIRED; InUseBy lists the load balancers
// whose listeners use it) and deleted with DeleteCertificate (refused while
// in use). ACM certificates are regional: a listener may use only a
// certificate of its own region, and CloudFormation fails a listener whose
// certificate is missing (CertificateNotFound).
//
// Not modelled: RequestCertificate (Amazon-issued certificates need DNS or
// email validation, which the simulator has no DNS for), private CAs,
// renewal, export, tags.
// https://docs.aws.amazon.com/acm/latest/userguide/import-certificate.html
type ACM struct {
	r *Region

	mu    sync.Mutex
	certs map[string]*acmCertificate // by ARN
	seq   int
}

type acmCertificate struct {
	arn      string
	cert     *x509.Certificate
	keyAlg   acmtypes.KeyAlgorithm
	imported time.Time
	inUseBy  map[string]bool
}

// ACM returns the region's Certificate Manager.
func (r *Region) ACM() *ACM {
	return r.service(acm.ServiceID, func() any { return &ACM{r: r, certs: map[string]*acmCertificate{}} }).(*ACM)
}

func acmValidation(format string, args ...any) error {
	return &acmtypes.ValidationException{Message: aws.String(fmt.Sprintf(format, args...))}
}

func acmNotFound(arn string) error {
	return &acmtypes.ResourceNotFoundException{Message: aws.String(fmt.Sprintf("Could not find certificate %s.", arn))}
}

// acmCheckARN refuses what is not a certificate ARN of this region.
func (a *ACM) acmCheckARN(arn string) error {
	prefix := fmt.Sprintf("arn:aws:acm:%s:%s:certificate/", a.r.Name, a.r.world.Account)
	if !strings.HasPrefix(arn, "arn:aws:acm:") || !strings.Contains(arn, ":certificate/") {
		return &acmtypes.InvalidArnException{Message: aws.String(fmt.Sprintf("String '%s' is not a valid ARN.", arn))}
	}
	if !strings.HasPrefix(arn, prefix) {
		// Another region's or account's certificate is not found here.
		return acmNotFound(arn)
	}
	return nil
}

// ImportCertificate imports a PEM certificate with its private key: the
// certificate must parse, be valid now (ACM refuses an expired or
// not-yet-valid one) and match the key; a chain, when given, must parse.
// With CertificateArn it replaces that certificate, keeping its ARN and
// its users.
func (a *ACM) ImportCertificate(ctx context.Context, in *acm.ImportCertificateInput, optFns ...func(*acm.Options)) (*acm.ImportCertificateOutput, error) {
	const op = "ImportCertificate"
	if err := a.r.call(ctx, acm.ServiceID, op, in); err != nil {
		return nil, err
	}
	cert, keyAlg, err := acmParse(in.Certificate, in.PrivateKey, in.CertificateChain)
	if err != nil {
		return nil, opErr(acm.ServiceID, op, err)
	}
	now := a.r.world.Clock.Now()
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return nil, opErr(acm.ServiceID, op, acmValidation("The certificate is not valid at the time of import: it is valid from %s to %s.",
			cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339)))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if arn := aws.ToString(in.CertificateArn); arn != "" {
		if err := a.acmCheckARN(arn); err != nil {
			return nil, opErr(acm.ServiceID, op, err)
		}
		c := a.certs[arn]
		if c == nil {
			return nil, opErr(acm.ServiceID, op, acmNotFound(arn))
		}
		c.cert, c.keyAlg, c.imported = cert, keyAlg, now
		return &acm.ImportCertificateOutput{CertificateArn: aws.String(arn)}, nil
	}
	a.seq++
	h := fnvString(fmt.Sprintf("%s/%d/%x", a.r.Name, a.seq, cert.SerialNumber))
	arn := fmt.Sprintf("arn:aws:acm:%s:%s:certificate/%08x-%04x-4%03x-8%03x-%012x", a.r.Name, a.r.world.Account,
		uint32(h>>32), uint16(h>>16), uint16(h)&0xfff, a.seq&0xfff, a.seq)
	a.certs[arn] = &acmCertificate{arn: arn, cert: cert, keyAlg: keyAlg, imported: now, inUseBy: map[string]bool{}}
	return &acm.ImportCertificateOutput{CertificateArn: aws.String(arn)}, nil
}

// acmParse reads an import's certificate, key and chain.
func acmParse(certPEM, keyPEM, chainPEM []byte) (*x509.Certificate, acmtypes.KeyAlgorithm, error) {
	block, rest := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, "", acmValidation("The certificate field does not contain a PEM-encoded certificate.")
	}
	if b, _ := pem.Decode(rest); b != nil {
		return nil, "", acmValidation("The certificate field contains more than one certificate. You can specify only one certificate in this field.")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, "", acmValidation("Unable to parse certificate: %v", err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, "", acmValidation("The private key field does not contain a PEM-encoded private key.")
	}
	var key crypto.Signer
	if k, err := x509.ParsePKCS8PrivateKey(kb.Bytes); err == nil {
		key, _ = k.(crypto.Signer)
	} else if k, err := x509.ParsePKCS1PrivateKey(kb.Bytes); err == nil {
		key = k
	} else if k, err := x509.ParseECPrivateKey(kb.Bytes); err == nil {
		key = k
	}
	if key == nil {
		return nil, "", acmValidation("The private key is not supported.")
	}
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if pub, ok := key.Public().(equaler); !ok || !pub.Equal(cert.PublicKey) {
		return nil, "", acmValidation("The private key does not match the public key in the certificate.")
	}
	for rest := chainPEM; len(bytes.TrimSpace(rest)) > 0; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil || b.Type != "CERTIFICATE" {
			return nil, "", acmValidation("The certificate chain is not a sequence of PEM-encoded certificates.")
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return nil, "", acmValidation("Unable to parse the certificate chain: %v", err)
		}
	}
	var alg acmtypes.KeyAlgorithm
	switch k := key.Public().(type) {
	case *rsa.PublicKey:
		alg = acmtypes.KeyAlgorithm(fmt.Sprintf("RSA_%d", k.N.BitLen()))
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			alg = acmtypes.KeyAlgorithmEcPrime256v1
		case elliptic.P384():
			alg = acmtypes.KeyAlgorithmEcSecp384r1
		case elliptic.P521():
			alg = acmtypes.KeyAlgorithmEcSecp521r1
		default:
			return nil, "", acmValidation("The private key is not supported.")
		}
	case ed25519.PublicKey:
		return nil, "", acmValidation("The private key is not supported.")
	}
	return cert, alg, nil
}

// DescribeCertificate describes a certificate.
func (a *ACM) DescribeCertificate(ctx context.Context, in *acm.DescribeCertificateInput, optFns ...func(*acm.Options)) (*acm.DescribeCertificateOutput, error) {
	const op = "DescribeCertificate"
	if err := a.r.call(ctx, acm.ServiceID, op, in); err != nil {
		return nil, err
	}
	arn := aws.ToString(in.CertificateArn)
	if err := a.acmCheckARN(arn); err != nil {
		return nil, opErr(acm.ServiceID, op, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.certs[arn]
	if c == nil {
		return nil, opErr(acm.ServiceID, op, acmNotFound(arn))
	}
	return &acm.DescribeCertificateOutput{Certificate: c.detail(a.r.world.Clock.Now())}, nil
}

func (c *acmCertificate) status(now time.Time) acmtypes.CertificateStatus {
	if now.After(c.cert.NotAfter) {
		return acmtypes.CertificateStatusExpired
	}
	return acmtypes.CertificateStatusIssued
}

func (c *acmCertificate) detail(now time.Time) *acmtypes.CertificateDetail {
	users := make([]string, 0, len(c.inUseBy))
	for u := range c.inUseBy {
		users = append(users, u)
	}
	sort.Strings(users)
	sans := append([]string(nil), c.cert.DNSNames...)
	domain := c.cert.Subject.CommonName
	if domain == "" && len(sans) > 0 {
		domain = sans[0]
	}
	return &acmtypes.CertificateDetail{
		CertificateArn: aws.String(c.arn), DomainName: aws.String(domain), SubjectAlternativeNames: sans,
		Status: c.status(now), Type: acmtypes.CertificateTypeImported, KeyAlgorithm: c.keyAlg,
		Issuer: aws.String(c.cert.Issuer.CommonName), Subject: aws.String(c.cert.Subject.String()),
		Serial: aws.String(fmt.Sprintf("%x", c.cert.SerialNumber)), NotBefore: aws.Time(c.cert.NotBefore), NotAfter: aws.Time(c.cert.NotAfter),
		ImportedAt: aws.Time(c.imported), InUseBy: users,
	}
}

// DeleteCertificate deletes a certificate no resource uses.
func (a *ACM) DeleteCertificate(ctx context.Context, in *acm.DeleteCertificateInput, optFns ...func(*acm.Options)) (*acm.DeleteCertificateOutput, error) {
	const op = "DeleteCertificate"
	if err := a.r.call(ctx, acm.ServiceID, op, in); err != nil {
		return nil, err
	}
	arn := aws.ToString(in.CertificateArn)
	if err := a.acmCheckARN(arn); err != nil {
		return nil, opErr(acm.ServiceID, op, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.certs[arn]
	if c == nil {
		return nil, opErr(acm.ServiceID, op, acmNotFound(arn))
	}
	if len(c.inUseBy) > 0 {
		return nil, opErr(acm.ServiceID, op, &acmtypes.ResourceInUseException{Message: aws.String(fmt.Sprintf("Certificate %s in use by %s", arn, c.detail(time.Time{}).InUseBy[0]))})
	}
	delete(a.certs, arn)
	return &acm.DeleteCertificateOutput{}, nil
}

// use records that user (a load balancer) serves with the certificate: it
// must exist in this region and be ISSUED. The error is what Elastic Load
// Balancing answers for a listener certificate it cannot use.
func (a *ACM) use(arn, user string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.certs[arn]
	if c == nil {
		return apiErr("CertificateNotFound", "Certificate '%s' not found", arn)
	}
	if st := c.status(a.r.world.Clock.Now()); st != acmtypes.CertificateStatusIssued {
		return apiErr("UnsupportedCertificate", "The certificate '%s' must have a status of ISSUED, not %s", arn, st)
	}
	c.inUseBy[user] = true
	return nil
}

// release records that user no longer serves with the certificate.
func (a *ACM) release(arn, user string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.certs[arn]; c != nil {
		delete(c.inUseBy, user)
	}
}
