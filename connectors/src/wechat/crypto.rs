//! WeChat's message signatures and safe-mode encryption, per the public
//! official-account spec ("消息加解密说明").
//!
//! - `signature` = SHA-1 of the sorted, concatenated `token`, `timestamp`, `nonce`.
//! - `msg_signature` = the same over `token`, `timestamp`, `nonce`, `Encrypt`.
//! - AESKey = Base64(EncodingAESKey + "="), 32 bytes; IV = its first 16 bytes.
//! - Plaintext = 16 random bytes ‖ message length (4 bytes, big-endian) ‖
//!   message ‖ AppID, PKCS#7-padded to a multiple of **32** bytes, then
//!   AES-256-CBC without further padding, then Base64.

use aes::Aes256;
use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};

/// EncodingAESKeys are 43 arbitrary Base64 characters, so the last one may
/// carry bits past the 32 bytes: decode leniently, as WeChat's own SDKs do.
const KEY_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use sha1::{Digest, Sha1};

/// SHA-1 over the sorted parts, lowercase hex.
pub fn sha1_sorted(parts: &[&str]) -> String {
    let mut v = parts.to_vec();
    v.sort_unstable();
    let mut h = Sha1::new();
    for p in v {
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Keys of one official account.
#[derive(Clone)]
pub struct WxCrypt {
    key: [u8; 32],
    app_id: String,
}

impl WxCrypt {
    /// `encoding_aes_key` is the 43-character key from the WeChat console.
    pub fn new(encoding_aes_key: &str, app_id: &str) -> Result<Self, String> {
        let bytes = KEY_ENGINE
            .decode(format!("{encoding_aes_key}="))
            .map_err(|e| format!("encoding_aes_key is not 43 characters of Base64: {e}"))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("encoding_aes_key decodes to {} bytes; WeChat keys decode to 32", b.len()))?;
        Ok(WxCrypt {
            key,
            app_id: app_id.to_owned(),
        })
    }

    /// Encrypts a message, with `random16` as the random prefix.
    pub fn encrypt(&self, msg: &str, random16: [u8; 16]) -> String {
        let mut buf = Vec::with_capacity(msg.len() + 64);
        buf.extend_from_slice(&random16);
        buf.extend_from_slice(&(msg.len() as u32).to_be_bytes());
        buf.extend_from_slice(msg.as_bytes());
        buf.extend_from_slice(self.app_id.as_bytes());
        let pad = 32 - buf.len() % 32;
        buf.extend(std::iter::repeat_n(pad as u8, pad));
        let enc = cbc::Encryptor::<Aes256>::new((&self.key).into(), (&self.key[..16]).into()).encrypt_padded_vec_mut::<NoPadding>(&buf);
        STANDARD.encode(enc)
    }

    /// Decrypts an `Encrypt` value; every failure says what was wrong.
    pub fn decrypt(&self, encrypt: &str) -> Result<String, String> {
        let data = STANDARD
            .decode(encrypt.trim())
            .map_err(|e| format!("bad AES block: Encrypt is not Base64: {e}"))?;
        if data.is_empty() || data.len() % 16 != 0 {
            return Err(format!(
                "bad AES block: {} bytes is not a whole number of 16-byte blocks",
                data.len()
            ));
        }
        let plain = cbc::Decryptor::<Aes256>::new((&self.key).into(), (&self.key[..16]).into())
            .decrypt_padded_vec_mut::<NoPadding>(&data)
            .map_err(|_| "bad AES block: decryption failed".to_owned())?;
        let pad = usize::from(*plain.last().unwrap_or(&0));
        if !(1..=32).contains(&pad) || pad > plain.len() || plain[plain.len() - pad..].iter().any(|b| usize::from(*b) != pad) {
            return Err("bad AES block: the PKCS#7 padding is invalid (wrong EncodingAESKey?)".into());
        }
        let body = &plain[..plain.len() - pad];
        if body.len() < 20 {
            return Err("bad AES block: the plaintext is too short".into());
        }
        let len = u32::from_be_bytes([body[16], body[17], body[18], body[19]]) as usize;
        let msg = body
            .get(20..20 + len)
            .ok_or("bad AES block: the message length is beyond the plaintext")?;
        let app_id = &body[20 + len..];
        if app_id != self.app_id.as_bytes() {
            return Err(format!(
                "bad AES block: the message is for AppID `{}`, not ours",
                String::from_utf8_lossy(app_id)
            ));
        }
        String::from_utf8(msg.to_vec()).map_err(|_| "bad AES block: the message is not UTF-8".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    #[test]
    fn signature_is_sha1_of_sorted_parts() {
        // sha1("123" + "456" + "abc"), parts sorted lexicographically.
        assert_eq!(sha1_sorted(&["abc", "456", "123"]), "a172ffc990129fe6f68b50f6037c54a1894ee3fd");
        assert_eq!(sha1_sorted(&["b", "a"]), sha1_sorted(&["ab"]));
    }

    #[test]
    fn round_trips_and_pads_to_32() {
        let c = WxCrypt::new(KEY, "wx1234567890abcdef").unwrap();
        let enc = c.encrypt("<xml><Content><![CDATA[路灯坏了]]></Content></xml>", [7; 16]);
        let raw = STANDARD.decode(&enc).unwrap();
        assert_eq!(raw.len() % 32, 0);
        assert_eq!(c.decrypt(&enc).unwrap(), "<xml><Content><![CDATA[路灯坏了]]></Content></xml>");
    }

    #[test]
    fn rejects_bad_blocks_and_foreign_app_ids() {
        let c = WxCrypt::new(KEY, "wx1234567890abcdef").unwrap();
        assert!(c.decrypt(&STANDARD.encode([1u8; 33])).unwrap_err().contains("16-byte blocks"));
        assert!(c.decrypt("%%%").unwrap_err().contains("Base64"));
        let other = WxCrypt::new(KEY, "wxother").unwrap().encrypt("hi", [0; 16]);
        assert!(c.decrypt(&other).unwrap_err().contains("AppID"));
        let wrong_key = WxCrypt::new("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg", "wx1234567890abcdef")
            .unwrap()
            .encrypt("hi", [0; 16]);
        assert!(c.decrypt(&wrong_key).is_err());
        assert!(WxCrypt::new("short", "x").is_err());
    }
}
