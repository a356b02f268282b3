package specimen

import (
	"strings"
	"time"
)

// mrzCheck is the ICAO 9303 check digit of s (weights 7, 3, 1).
func mrzCheck(s string) byte {
	sum := 0
	for i := 0; i < len(s); i++ {
		ch := s[i]
		v := 0
		switch {
		case ch >= '0' && ch <= '9':
			v = int(ch - '0')
		case ch >= 'A' && ch <= 'Z':
			v = int(ch-'A') + 10
		}
		sum += v * [3]int{7, 3, 1}[i%3]
	}
	return byte('0' + sum%10)
}

// mrzField pads or cuts s to n characters, spaces and other non-MRZ
// characters becoming '<'.
func mrzField(s string, n int) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < n; i++ {
		ch := s[i]
		if (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') {
			b.WriteByte(ch)
		} else {
			b.WriteByte('<')
		}
	}
	for b.Len() < n {
		b.WriteByte('<')
	}
	return b.String()
}

// mrzDate renders a DateLayout date as YYMMDD ("<<<<<<" when malformed).
func mrzDate(s string) string {
	t, err := time.Parse(DateLayout, s)
	if err != nil {
		return "<<<<<<"
	}
	return t.Format("060102")
}

// mrzName is SURNAME<<GIVEN<NAMES padded to n.
func mrzName(d *Data, n int) string {
	return mrzField(strings.ReplaceAll(d.LastName, " ", "<")+"<<"+strings.ReplaceAll(d.FirstName, " ", "<"), n)
}

func withCheck(s string) string { return s + string(mrzCheck(s)) }

// mrzTD3 returns the two 44-character lines of a passport.
func mrzTD3(d *Data) [2]string {
	l1 := "P<" + mrzField(d.IssuingCountry, 3) + mrzName(d, 39)
	num := withCheck(mrzField(d.DocumentNumber, 9))
	birth := withCheck(mrzDate(d.DateOfBirth))
	exp := withCheck(mrzDate(d.DateOfExpiry))
	pers := withCheck(mrzField(d.PersonalIdentificationNumber, 14))
	sex := mrzField(d.Gender, 1)
	l2 := num + mrzField(d.Nationality, 3) + birth + sex + exp + pers
	l2 += string(mrzCheck(num + birth + exp + pers))
	return [2]string{l1, l2}
}

// mrzTD1 returns the three 30-character lines of an identity card.
func mrzTD1(d *Data) [3]string {
	num := withCheck(mrzField(d.DocumentNumber, 9))
	opt1 := mrzField(d.PersonalIdentificationNumber, 15)
	l1 := "I<" + mrzField(d.IssuingCountry, 3) + num + opt1
	birth := withCheck(mrzDate(d.DateOfBirth))
	exp := withCheck(mrzDate(d.DateOfExpiry))
	opt2 := mrzField("", 11)
	l2 := birth + mrzField(d.Gender, 1) + exp + mrzField(d.Nationality, 3) + opt2
	l2 += string(mrzCheck(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]))
	return [3]string{l1, l2, mrzName(d, 30)}
}
