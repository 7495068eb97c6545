/**
 * The pages' one stylesheet and one script, inlined with the response's nonce. Theme: override the
 * `--lk-*` custom properties; dark colours follow prefers-color-scheme. Colours meet WCAG AA
 * contrast on their backgrounds in both schemes.
 */
export const STYLE = `:root{--lk-bg:#f4f5f7;--lk-card:#fff;--lk-fg:#1a1d23;--lk-muted:#4f5662;--lk-accent:#2450c8;--lk-accent-fg:#fff;--lk-border:#c3c8d0;--lk-error:#b3261e;--lk-ok:#1d6a33;--lk-radius:12px;--lk-font:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--lk-bg:#101216;--lk-card:#1a1d24;--lk-fg:#eceef2;--lk-muted:#aab1bd;--lk-accent:#92b1ff;--lk-accent-fg:#0b1020;--lk-border:#3b414d;--lk-error:#ffb4ab;--lk-ok:#8fd6a0}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:1rem;padding:1.5rem 1rem;background:var(--lk-bg);color:var(--lk-fg);font:16px/1.5 var(--lk-font)}
main{width:100%;max-width:27rem;background:var(--lk-card);border:1px solid var(--lk-border);border-radius:var(--lk-radius);padding:2rem 1.75rem}
.brand{margin:0;color:var(--lk-muted);font-size:.8125rem;font-weight:600;letter-spacing:.06em;text-transform:uppercase}
h1{font-size:1.5rem;line-height:1.25;margin:.25rem 0 1.25rem}
p{margin:0 0 1rem}
.field{display:flex;flex-direction:column;gap:.3rem;margin-bottom:1rem}
label{font-weight:600}
input{font:inherit;width:100%;padding:.6rem .75rem;border:1px solid var(--lk-border);border-radius:calc(var(--lk-radius)*.6);background:var(--lk-card);color:var(--lk-fg)}
input[aria-invalid=true]{border-color:var(--lk-error)}
small{color:var(--lk-muted);font-size:.875rem}
button{display:block;width:100%;font:inherit;font-weight:600;padding:.65rem 1rem;border-radius:calc(var(--lk-radius)*.6);border:2px solid var(--lk-accent);background:var(--lk-accent);color:var(--lk-accent-fg);cursor:pointer}
button.secondary{background:transparent;color:var(--lk-accent)}
form+form,button+button{margin-top:.75rem}
strong{overflow-wrap:anywhere}
a{color:var(--lk-accent);text-underline-offset:.15em}
:focus-visible{outline:3px solid var(--lk-accent);outline-offset:2px}
.error,.notice{padding:.6rem .8rem;border-radius:calc(var(--lk-radius)*.6);border:1px solid currentColor}
.error{color:var(--lk-error)}.notice{color:var(--lk-ok)}
.or{display:flex;align-items:center;gap:.75rem;color:var(--lk-muted);margin:1.25rem 0;font-size:.875rem}
.or::before,.or::after{content:"";flex:1;border-top:1px solid var(--lk-border)}
.links{margin:1.25rem 0 0;font-size:.9375rem;display:flex;flex-direction:column;gap:.35rem}
.list{list-style:none;padding:0;margin:0 0 1rem}.list li{padding:.5rem 0;border-bottom:1px solid var(--lk-border)}
h2{font-size:1.125rem;margin:1.5rem 0 .5rem}
.passkey{display:flex;gap:.6rem;align-items:flex-start;margin:0 0 .5rem}.icon{flex:none;margin-top:.15rem}
.row{display:flex;gap:.5rem;align-items:flex-end}.row .field{flex:1;margin:0}.row button,.list li form:not(.row) button{width:auto}
.list li form+form{margin-top:.5rem}
.list li p{margin:0 0 .5rem}.badge{display:inline-block;font-size:.8125rem;font-weight:600;padding:0 .45rem;border:1px solid currentColor;border-radius:1rem;color:var(--lk-ok)}
section+form{margin-top:1.5rem}
.codes{columns:2;padding-left:1.75rem;margin:0 0 1rem}.codes code{font:600 1rem/1.8 ui-monospace,SFMono-Regular,Menlo,monospace;letter-spacing:.04em}
footer a{margin:0 .3rem;color:var(--lk-muted)}footer a[aria-current]{color:var(--lk-fg);font-weight:700}
[hidden]{display:none!important}`;

/**
 * Passkeys: sign-in from the button and from autofill (conditional mediation), creation from the
 * account page, and conditional create where the browser offers it. Options and results travel as
 * WebAuthn JSON (parse*OptionsFromJSON, toJSON); a browser without them keeps the other ways.
 * Signal API where the browser has it: a sign-in refused as UNKNOWN_CREDENTIAL signals that
 * credential unknown; the account page (#passkey-signal) signals the credential ids the account
 * accepts (after loading, and so after each deletion) and the user's current name.
 */
export const SCRIPT = `(()=>{const base=document.currentScript.dataset.base,P=window.PublicKeyCredential,ok=!!(P&&P.parseRequestOptionsFromJSON&&P.parseCreationOptionsFromJSON),$=s=>document.querySelector(s);
const post=async(p,b)=>{const r=await fetch(base+p,{method:"POST",headers:{"content-type":"application/json"},body:JSON.stringify(b||{})});const j=await r.json().catch(()=>({}));if(!r.ok)throw new Error(j.error||"failed");return j};
const say=(s,m)=>{const e=$(s);if(e){e.textContent=m;e.hidden=false}};
const target=($("input[name=redirect_to]")||{}).value||"";let ctl;
const unknown="UNKNOWN_CREDENTIAL";
const signIn=async m=>{const o=await post("/login/passkey/options");if(ctl)ctl.abort();ctl=new AbortController();const c=await navigator.credentials.get({publicKey:P.parseRequestOptionsFromJSON(o),mediation:m,signal:ctl.signal});try{const r=await post("/login/passkey",{credential:c.toJSON(),redirect_to:target});location.assign(r.redirect)}catch(e){if(e.message===unknown&&P.signalUnknownCredential)P.signalUnknownCredential({rpId:o.rpId,credentialId:c.id}).catch(()=>{});throw e}};
const b=$("[data-passkey-login]");if(b&&ok){b.hidden=false;$("[data-passkey-sep]").hidden=false;const fail=e=>{if(e.name!=="AbortError")say("#passkey-error",e.message===unknown?b.dataset.unknown:b.dataset.failed)};b.addEventListener("click",()=>signIn("optional").catch(fail));if(P.isConditionalMediationAvailable)P.isConditionalMediationAvailable().then(a=>a&&signIn("conditional").catch(e=>{if(e.message===unknown)fail(e)})).catch(()=>{})}
const g=$("#passkey-signal");if(g&&P){const d=g.dataset,u={rpId:d.rpId,userId:d.userId};if(P.signalAllAcceptedCredentials)P.signalAllAcceptedCredentials({...u,allAcceptedCredentialIds:d.ids?d.ids.split(" "):[]}).catch(()=>{});if(P.signalCurrentUserDetails)P.signalCurrentUserDetails({...u,name:d.name,displayName:d.name}).catch(()=>{})}
const create=async m=>{const o=await post("/account/passkey/options");if(ctl)ctl.abort();ctl=new AbortController();const c=await navigator.credentials.create({publicKey:P.parseCreationOptionsFromJSON(o),mediation:m,signal:ctl.signal});await post("/account/passkey",{credential:c.toJSON()})};
const a=$("[data-passkey-create]");if(a){const done=()=>{say("#passkey-status",a.dataset.done);a.hidden=true;const n=$("[data-next]");if(n)n.textContent=n.dataset.label;if(a.dataset.reload!==undefined)location.reload()};if(ok){a.hidden=false;a.addEventListener("click",()=>create().then(done,e=>{if(e.name!=="AbortError")say("#passkey-error",a.dataset.failed)}));if(a.dataset.conditional!==undefined&&P.getClientCapabilities)P.getClientCapabilities().then(c=>c.conditionalCreate&&create("conditional").then(done)).catch(()=>{})}}
const cf=$("[data-passkey-confirm]");if(cf&&ok){cf.hidden=false;cf.addEventListener("click",()=>post("/account/confirm/options").then(o=>navigator.credentials.get({publicKey:P.parseRequestOptionsFromJSON(o)})).then(c=>{cf.form.credential.value=JSON.stringify(c.toJSON());cf.form.submit()},e=>{if(e.name!=="AbortError")say("#passkey-error",cf.dataset.failed)}))}
const go=$("form[data-go]");if(go)go.submit()})();`;
