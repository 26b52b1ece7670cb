import { describe, expect, it } from 'vitest';
import { loginWithKey, loginWithPassword, openPage, screenshot, serverAndBrowser } from './harness.ts';

const PASSWORD = 'my own signup password';

describe('sign-up in Chromium against a real server (issue 21)', () => {
  const running = serverAndBrowser();

  it("sign-up → verification link from the outbox → admin approves → the user logs in and sees their customer's appliances", async () => {
    const customer = await running.api.customer('pro');
    const { appliance } = await running.api.appliance(customer.id);
    const other = await running.api.customer('basic');
    const { appliance: foreign } = await running.api.appliance(other.id);
    const email = `${running.api.unique('applicant')}@example.com`.toLowerCase();

    // The applicant: from the login page to the sign-up form.
    const applicant = await openPage(running.browser, running.server.url);
    await applicant.page.goto('/#/login');
    await applicant.page.getByTestId('signup-link').click();
    await applicant.page.getByLabel('Full name').fill('Ada Applicant');
    await applicant.page.getByLabel('Email').fill(email);
    await applicant.page.getByLabel('Company').fill('Acme Srl');
    await applicant.page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await applicant.page.getByLabel('Repeat the password').fill(PASSWORD);
    // A mistyped serial is refused with what to do about it; the form keeps what was typed.
    await applicant.page.getByLabel('Appliance serial number').fill(`${appliance.serial}-TYPO`);
    await applicant.page.getByTestId('signup-submit').click();
    await applicant.page.getByText('No appliance has this serial number.', { exact: false }).waitFor();
    await applicant.page.getByLabel('Appliance serial number').fill(appliance.serial);
    await applicant.page.getByTestId('signup-submit').click();
    await applicant.page.getByTestId('signup-sent').waitFor();
    expect(await applicant.page.getByTestId('signup-sent').textContent()).toContain(email);

    // The link, as the e-mail carries it (read from the outbox, as an admin would).
    const outbox = await running.api.ok<{ items: { kind: string; text: string }[] }>('GET', `/outbox?to=${encodeURIComponent(email)}`);
    const verifyMail = outbox.items.find((m) => m.kind === 'signup.verify');
    const link = verifyMail && /\/#\/verify\/[A-Za-z0-9_-]+/.exec(verifyMail.text)?.[0];
    expect(link).toBeTruthy();
    await applicant.page.goto(link!);
    // Confirming asks for the password chosen at sign-up; a wrong one is refused, the link stays usable.
    await applicant.page.getByLabel('Password chosen at sign-up').fill('not-the-password');
    await applicant.page.getByTestId('verify-submit').click();
    await applicant.page.getByText('That is not the password chosen when signing up.').waitFor();
    await applicant.page.getByLabel('Password chosen at sign-up').fill(PASSWORD);
    await applicant.page.getByTestId('verify-submit').click();
    await applicant.page.getByTestId('verify-done').waitFor();
    // The failed requests are the mistyped serial and the wrong password, refused on purpose above.
    expect(applicant.problems).toMatchObject({ errors: [], csp: [], failedRequests: ['POST /api/v1/signup → 400', 'POST /api/v1/signup/verify → 400'] });
    await applicant.close();

    // The admin approves it from the Sign-ups page; the serial's owner is preselected.
    const admin = await openPage(running.browser, running.server.url);
    await loginWithKey(admin.page, running.server.adminKey);
    await admin.page.goto('/#/admin/signups');
    const row = admin.page.locator(`[data-testid="signup-row"][data-email="${email}"]`);
    await row.waitFor();
    await expect.poll(() => row.locator('select').inputValue()).toBe(customer.id);
    await screenshot(admin.page, 'signups-admin');
    await row.getByTestId('signup-approve').click();
    await row.getByTestId('signup-decided').waitFor();
    expect(admin.problems).toMatchObject({ errors: [], csp: [], failedRequests: [] });
    await admin.close();

    // The new user signs in with the password they chose and sees their customer's fleet only.
    const user = await openPage(running.browser, running.server.url);
    await loginWithPassword(user.page, email, PASSWORD);
    await user.page.goto('/#/appliances');
    await user.page.getByText(appliance.serial).first().waitFor();
    expect(await user.page.getByText(foreign.serial).count()).toBe(0);

    // Their profile: phone and time zone, kept across a reload.
    await user.page.goto('/#/settings');
    await user.page.getByLabel('Phone').fill('+39 02 1234 5678');
    await user.page.getByLabel('Time zone').fill('Europe/Rome');
    await user.page.getByRole('button', { name: 'Save profile' }).click();
    await user.page.getByText('Profile saved.').waitFor();
    await user.page.reload();
    await user.page.getByTestId('profile-form').waitFor();
    expect(await user.page.getByLabel('Time zone').inputValue()).toBe('Europe/Rome');
    expect(user.problems).toMatchObject({ errors: [], csp: [], failedRequests: [] });
    await user.close();
  });

  it("an admin marks a customer user as customer admin; they approve their company's applicant from their profile", async () => {
    const customer = await running.api.customer('basic');
    const { appliance } = await running.api.appliance(customer.id);
    const boss = await running.api.user('customer', { customerId: customer.id, password: PASSWORD });
    const email = `${running.api.unique('colleague')}@example.com`.toLowerCase();
    // The colleague signs up and confirms through the API (the form is covered above).
    const sent = await fetch(`${running.server.url}/api/v1/signup`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, name: 'Carla Colleague', company: 'Same Co', serial: appliance.serial, password: PASSWORD }),
    });
    expect(sent.status).toBe(202);
    const outbox = await running.api.ok<{ items: { kind: string; text: string }[] }>('GET', `/outbox?to=${encodeURIComponent(email)}`);
    const token = /#\/verify\/([A-Za-z0-9_-]+)/.exec(outbox.items[0]!.text)![1]!;
    expect((await running.api.call('POST', '/signup/verify', { token, password: PASSWORD })).status).toBe(200);

    const admin = await openPage(running.browser, running.server.url);
    await loginWithKey(admin.page, running.server.adminKey);
    await admin.page.goto('/#/admin/users');
    const toggle = admin.page.getByTestId(`customer-admin-${boss.user.email}`);
    await Promise.all([admin.page.waitForResponse((r) => r.url().includes(`/api/v1/users/${boss.user.id}`) && r.request().method() === 'PATCH'), toggle.check()]);
    expect(await toggle.isChecked()).toBe(true);
    expect(admin.problems).toMatchObject({ errors: [], csp: [], failedRequests: [] });
    await admin.close();

    const page = await openPage(running.browser, running.server.url);
    await loginWithPassword(page.page, boss.user.email, PASSWORD);
    await page.page.goto('/#/settings');
    await page.page.getByRole('link', { name: 'Review sign-ups' }).click();
    const row = page.page.locator(`[data-testid="signup-row"][data-email="${email}"]`);
    await row.getByTestId('signup-approve').click();
    await row.getByTestId('signup-decided').waitFor();
    expect(page.problems).toMatchObject({ errors: [], csp: [], failedRequests: [] });
    await page.close();
    const users = await running.api.ok<{ items: { email: string; customerId: string }[] }>('GET', '/users?limit=500');
    expect(users.items.find((u) => u.email === email)?.customerId).toBe(customer.id);
  });
});
